import type { ConsulPort } from '../../lib/election';

/**
 * `port` as it is, with every call's method name recorded in `calls`, in order: for a spec that
 * counts what the election asks of Consul (the HTTP-level count is harness/http-fault-proxy.ts).
 */
export function countingPort<P extends ConsulPort>(port: P): { port: P; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(port, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { port: counted, calls };
}
