/** Request envelopes, slots and signed HTTP for the skill kit tests. */
import { request as httpRequest } from 'node:http';
import { signHmac, type SkillRequest, type SkillRequestEnvelope, type Slot, type SlotValue } from '../../src/protocol/index.js';

export const SECRET = 'test-skill-secret';
export const SKILL_ID = 'skill-audiobook';
export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
export const STAMP = '20261201T120000Z';

let seq = 0;
export const nextId = () => `req-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export function textValue(value: string, origin = value): SlotValue {
  return { type: 'text', value, origin };
}

export function slot(name: string, ...values: SlotValue[]): Slot {
  return { name, confirmationStatus: 'NONE', values: values.map((value) => ({ value })) };
}

interface EnvelopeOptions {
  screen?: boolean;
  accessToken?: string;
  applicationId?: string;
  newSession?: boolean;
  noSession?: boolean;
}

export function envelope<R extends SkillRequest>(request: R, o: EnvelopeOptions = {}): SkillRequestEnvelope<R> {
  const supportedInterfaces: Record<string, unknown> = { AudioPlayer: { Play: true, Stop: true, ClearQueue: true } };
  if (o.screen) supportedInterfaces['Sandbox.Screen'] = {};
  const withSession = !o.noSession && ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest'].includes(request.type);
  return {
    version: '1.0',
    ...(withSession ? { session: { new: o.newSession ?? true, sessionId: 'session-1' } } : {}),
    context: {
      System: {
        application: { applicationId: o.applicationId ?? SKILL_ID },
        device: { deviceId: 'speaker-1', supportedInterfaces },
        user: o.accessToken ? { userId: 'user-1', accessToken: o.accessToken } : { userId: 'user-1' },
      },
    },
    request,
  };
}

const base = () => ({ requestId: nextId(), timestamp: STAMP });

export const launch = (o?: EnvelopeOptions) => envelope({ type: 'LaunchRequest', queryText: '打开有声书', ...base() }, o);
export const intent = (name: string, slots: Record<string, Slot> = {}, o?: EnvelopeOptions) =>
  envelope({ type: 'IntentRequest', queryText: '播放', dialogState: 'COMPLETED', intent: { name, confirmationStatus: 'NONE', slots }, ...base() }, o);
export const sessionEnded = (o?: EnvelopeOptions) => envelope({ type: 'SessionEndedRequest', reason: 'USER_INITIATED', ...base() }, o);
export const chargeResponse = (o?: EnvelopeOptions) =>
  envelope({ type: 'Connections.Response', name: 'Charge', payload: { dingdangOrderId: 'dd1', partnerOrderId: 'P20261201001' }, ...base() }, o);
export const elementSelected = (token = 'ep-2', o?: EnvelopeOptions) => envelope({ type: 'Display.ElementSelected', token, ...base() }, o);

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** POST raw bytes with node:http (no client-side rewriting of the body). */
export function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { 'content-type': 'application/json;charset=UTF-8', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** POST an envelope signed with TSK-HMAC-SHA256-BASIC at `now` (default T0). */
export function postSigned(url: string, value: unknown, o: { secret?: string; now?: number } = {}): Promise<RawReply> {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  return post(url, body, { authorization: signHmac(body, o.secret ?? SECRET, { now: o.now ?? T0 }) });
}
