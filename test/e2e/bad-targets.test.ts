/**
 * A request line no URL parser takes, or a path with a malformed
 * percent-escape, gets a 4xx from every server the demo starts (the example
 * skill, the sandbox, the speaker page server) — and the server keeps
 * answering afterwards: one request never takes a process down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startDemoStack } from '../../src/demo/stack.js';
import { startSpeakerServer } from '../../src/demo/speaker-server.js';

/** Send raw bytes, read the status line of the answer (or '' when the server closed without one). */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(request.slice(0, 40))}`));
    }, 5000);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.slice(0, data.indexOf('\r\n')));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data.slice(0, Math.max(0, data.indexOf('\r\n'))));
    });
  });
}

test('bad request targets and malformed escapes: a 4xx from every demo server, and each still answers afterwards', { timeout: 60_000 }, async () => {
  const stack = await startDemoStack({ log: () => {} });
  const speaker = await startSpeakerServer({ platformUrl: stack.sandbox.url, tskPublicKey: stack.sandbox.tskPublicKey });
  try {
    const servers = { skill: stack.skill!.url, sandbox: stack.sandbox.url, speaker: speaker.url };
    const targets = [
      '//',
      '//x',
      'http://',
      '/sandbox/v1/orders/%E0%A4%A',
      '/sandbox/v1/purchases/%',
      '/device/v1/purchases/%ZZ/status',
      '/audio/%E0.wav',
      '/link/%C3%28',
    ];
    for (const [name, url] of Object.entries(servers)) {
      for (const target of targets) {
        const line = await raw(url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        // `//x` is a strange but valid target (host x, path /): any answer but a 5xx; the rest must be refused.
        assert.match(line, target === '//x' ? /^HTTP\/1\.1 [234]\d\d / : /^HTTP\/1\.1 4\d\d /, `${name} ${target}: ${line}`);
      }
      // Still alive, answering ordinary requests.
      const ok = await fetch(url, { signal: AbortSignal.timeout(5000) });
      assert.ok(ok.status < 500, `${name} still answers (${ok.status})`);
      await ok.arrayBuffer();
    }
  } finally {
    await speaker.close();
    await stack.close();
  }
});
