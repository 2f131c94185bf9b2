import type { Handlers } from '../generated/handlers.gen.js';
import type { PetContext } from '../src/store.js';
import { pets } from './pets.js';

export const handlers: Handlers<PetContext> = { pets };
