import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('telemetry configuration', () => {
  it('has metrics on and tracing off by default', () => {
    const c = loadConfig({});
    expect(c.metrics).toEqual({ enabled: true, token: null, port: null });
    expect(c.tracing).toBeNull();
  });

  it('reads the standard OTLP variables', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces', headers: {}, serviceName: 'lavendly', sampleRatio: 1,
    });
    const c = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/v1/traces',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-team = video',
      OTEL_SERVICE_NAME: 'api-eu',
      LAVENDLY_TRACE_SAMPLE_RATIO: '0.25',
    });
    expect(c.tracing).toEqual({ tracesUrl: 'https://otel.example/v1/traces', headers: { 'api-key': 'a=b', 'x-team': 'video' }, serviceName: 'api-eu', sampleRatio: 0.25 });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeNull();
  });

  it('refuses values it cannot use, naming the variable', () => {
    expect(() => loadConfig({ LAVENDLY_METRICS: 'yes' })).toThrow(/LAVENDLY_METRICS must be on or off/);
    expect(() => loadConfig({ LAVENDLY_METRICS_PORT: '99999' })).toThrow(/LAVENDLY_METRICS_PORT/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTLP traces endpoint must be an http\(s\) URL/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', LAVENDLY_TRACE_SAMPLE_RATIO: '2' })).toThrow(/LAVENDLY_TRACE_SAMPLE_RATIO/);
  });
});
