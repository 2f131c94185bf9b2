import type {
  GenerateClipRequest, GenerateImageRequest, GeneratedClip, GeneratedImage, ImageToVideoProvider, MediaProviders,
  TextToImageProvider,
} from '../media/index.js';
import { observeProviderCall } from './observe.js';

/**
 * The generation providers with each call timed for the provider duration histogram (labelled by
 * operation and provider name). Review is left as is: the rubric is compared by identity with the
 * vision provider (src/review), and its work is ffmpeg runs, which are timed on their own.
 */
export function observedProviders(providers: MediaProviders): MediaProviders {
  const video = new Map<ImageToVideoProvider, ImageToVideoProvider>();
  const observed = (p: ImageToVideoProvider) => {
    let o = video.get(p);
    if (!o) video.set(p, (o = new ObservedVideoProvider(p)));
    return o;
  };
  return {
    ...providers,
    textToImage: new ObservedImageProvider(providers.textToImage),
    imageToVideo: observed(providers.imageToVideo),
    videoByModel: providers.videoByModel && new Map([...providers.videoByModel].map(([id, p]) => [id, observed(p)])),
  };
}

/** The provider a timing wrapper stands for (itself when it is not wrapped), for tests and diagnostics. */
export function unobserved<P extends TextToImageProvider | ImageToVideoProvider>(provider: P): P {
  return provider instanceof ObservedImageProvider || provider instanceof ObservedVideoProvider ? (provider.inner as P) : provider;
}

class ObservedImageProvider implements TextToImageProvider {
  constructor(readonly inner: TextToImageProvider) {}
  get name() { return this.inner.name; }
  generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    return observeProviderCall('generate_image', this.inner.name, req.signal, () => this.inner.generateImage(req));
  }
}

class ObservedVideoProvider implements ImageToVideoProvider {
  constructor(readonly inner: ImageToVideoProvider) {}
  get name() { return this.inner.name; }
  generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    return observeProviderCall('generate_clip', this.inner.name, req.signal, () => this.inner.generateClip(req));
  }
}
