import { readFileSync } from 'node:fs';

export const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
export const fixturePath = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

/** Node 20 has no Promise.withResolvers. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
