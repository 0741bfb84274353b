/**
 * A second, tiny custom skill written straight from SKILL-PROTOCOL.md on raw
 * `node:http` — no project code (not src/skill, src/partner or src/protocol):
 * its own TSK-HMAC-SHA256-BASIC verification with node:crypto, its own reading
 * of the request envelope, answers in the real response format.
 *
 * "睡前故事" (bedtime stories): "打开睡前故事" → welcome, session kept;
 * "讲第三十五个故事" → story 35; "讲个故事" → Dialog.ElicitSlot `number`;
 * the next utterance fills it; "退出" → SessionEndedRequest → goodbye;
 * Display.ElementSelected with token "story-<n>" → a Charge for story n.
 *
 * Every request is checked against the protocol as the skill reads it; a
 * departure is recorded in `violations` (the test expects none).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawSkill {
  url: string;
  secret: string;
  /** Every request envelope received, verified or not. */
  received: any[];
  /** What did not follow SKILL-PROTOCOL.md (signature, envelope, request fields). */
  violations: string[];
  close(): Promise<void>;
}

const COMPACT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function compactToMs(text: string): number | undefined {
  const m = COMPACT.exec(text);
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** SKILL-PROTOCOL §1: `TSK-HMAC-SHA256-BASIC Datetime=<compact>, Signature=<64 hex>`, HMAC over body ‖ datetime, ±3 min. */
function verify(body: Buffer, header: string | undefined, secret: string): { ok: true; datetime: string } | { ok: false; why: string } {
  const m = /^TSK-HMAC-SHA256-BASIC Datetime=(\d{8}T\d{6}Z), Signature=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return { ok: false, why: `malformed Authorization: ${header}` };
  const [, datetime, signature] = m as unknown as [string, string, string];
  const at = compactToMs(datetime)!;
  if (Math.abs(Date.now() - at) > 3 * 60 * 1000) return { ok: false, why: 'stale datetime' };
  const want = createHmac('sha256', secret)
    .update(Buffer.concat([body, Buffer.from(datetime, 'ascii')]))
    .digest();
  if (!timingSafeEqual(want, Buffer.from(signature, 'hex'))) return { ok: false, why: 'bad signature' };
  return { ok: true, datetime };
}

const SESSION_TYPES = ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest'];

/** The envelope as SKILL-PROTOCOL §2–§3 describes it; returns what does not fit. */
function checkEnvelope(env: any, datetime: string): string[] {
  const out: string[] = [];
  const is = (cond: boolean, what: string) => void (cond || out.push(what));
  is(env.version === '1.0', 'version');
  const r = env.request ?? {};
  is(typeof r.type === 'string' && typeof r.requestId === 'string', 'request.type/requestId');
  is(COMPACT.test(r.timestamp ?? ''), `request.timestamp compact: ${r.timestamp}`);
  is(r.timestamp === datetime, 'request.timestamp = the signature datetime');
  if (SESSION_TYPES.includes(r.type)) is(typeof env.session?.new === 'boolean' && typeof env.session?.sessionId === 'string', 'session {new, sessionId}');
  else is(env.session === undefined, `no session on ${r.type}`);
  if (env.session) is(Object.keys(env.session).sort().join() === 'new,sessionId', 'session has only new and sessionId');
  const sys = env.context?.System ?? {};
  is(typeof sys.application?.applicationId === 'string', 'context.System.application.applicationId');
  is(typeof sys.device?.deviceId === 'string', 'context.System.device.deviceId');
  const ap = sys.device?.supportedInterfaces?.AudioPlayer;
  is(ap?.Play === true && ap?.Stop === true && ap?.ClearQueue === true, 'supportedInterfaces.AudioPlayer {Play, Stop, ClearQueue}');
  is(typeof sys.user?.userId === 'string', 'context.System.user.userId');
  if (r.type === 'LaunchRequest') is(typeof r.queryText === 'string', 'LaunchRequest.queryText');
  if (r.type === 'IntentRequest') {
    is(typeof r.queryText === 'string', 'IntentRequest.queryText');
    is(['STARTED', 'IN_PROGRESS', 'COMPLETED'].includes(r.dialogState), 'dialogState');
    is(typeof r.intent?.name === 'string' && ['NONE', 'CONFIRMED', 'DENIED'].includes(r.intent?.confirmationStatus), 'intent {name, confirmationStatus}');
    const slots = r.intent?.slots;
    is(typeof slots === 'object' && slots !== null && !Array.isArray(slots), 'intent.slots is an object keyed by name');
    for (const [name, slot] of Object.entries<any>(slots ?? {})) {
      is(slot.name === name && ['NONE', 'CONFIRMED', 'DENIED'].includes(slot.confirmationStatus), `slot ${name} {name, confirmationStatus}`);
      is(Array.isArray(slot.values) && slot.values.length > 0, `slot ${name} values[]`);
      for (const v of slot.values ?? [])
        is(
          v.value?.type === 'text' && typeof v.value.value === 'string' && typeof v.value.origin === 'string',
          `slot ${name} text value {type, value, origin}`,
        );
    }
  }
  if (r.type === 'SessionEndedRequest') {
    is(['USER_INITIATED', 'ERROR'].includes(r.reason), 'SessionEndedRequest.reason');
    if (r.reason === 'ERROR')
      is(['INVALID_RESPONSE', 'INTERNAL_ERROR'].includes(r.error?.type) && typeof r.error?.message === 'string', 'error {type, message}');
  }
  if (r.type === 'Display.ElementSelected') is(typeof r.token === 'string', 'ElementSelected.token');
  return out;
}

const speech = (text: string) => ({ type: 'PlainText', text });

function answer(env: any): unknown {
  const r = env.request;
  const slotValue = (name: string): string | undefined => r.intent?.slots?.[name]?.values?.[0]?.value?.value;
  switch (r.type) {
    case 'LaunchRequest':
      return { version: '1.0', response: { outputSpeech: speech('欢迎来到睡前故事，你想听第几个故事？'), shouldEndSession: false } };
    case 'IntentRequest': {
      if (r.intent.name !== 'tell') return { version: '1.0', response: { outputSpeech: speech('我只会讲故事') } };
      const n = slotValue('number');
      if (n === undefined)
        return {
          version: '1.0',
          response: {
            outputSpeech: speech('你想听第几个故事？'),
            directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'number', updatedIntent: r.intent }],
            shouldEndSession: false,
          },
        };
      return {
        version: '1.0',
        response: {
          outputSpeech: speech(`从前有座山，这是第${n}个故事。还想听吗？`),
          directives: [
            {
              type: 'AudioPlayer.Play',
              playlist: [{ stream: { url: `http://127.0.0.1:9/story-${n}.mp3`, token: `story-${n}` }, info: { title: `第${n}个故事` } }],
            },
          ],
          shouldEndSession: false,
        },
      };
    }
    case 'SessionEndedRequest':
      return { version: '1.0', response: { outputSpeech: speech('晚安，再见'), shouldEndSession: true } };
    case 'Display.ElementSelected': {
      const n = /^story-(\d+)$/.exec(r.token)?.[1] ?? '0';
      return {
        version: '1.0',
        response: {
          outputSpeech: speech(`第${n}个故事需要购买`),
          directives: [
            {
              type: 'Connections.SendRequest',
              name: 'Charge',
              payload: { chargeInfo: { name: `第${n}个故事`, items: [{ itemId: `story-${n}`, itemName: '故事', price: 50, count: 1, totalFee: 50 }] } },
            },
          ],
        },
      };
    }
    default:
      return { version: '1.0', response: { outputSpeech: speech('好的') } };
  }
}

export async function startRawSkill(secret = 'raw-skill-secret'): Promise<RawSkill> {
  const received: any[] = [];
  const violations: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST') violations.push(`method ${req.method}`);
      if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) violations.push(`content-type ${req.headers['content-type']}`);
      const v = verify(body, req.headers.authorization, secret);
      let env: any;
      try {
        env = JSON.parse(body.toString('utf8'));
      } catch {
        violations.push('body is not JSON');
      }
      received.push(env);
      if (!v.ok) {
        violations.push(v.why);
        res.writeHead(401);
        return res.end();
      }
      violations.push(...checkEnvelope(env, v.datetime).map((w) => `${env?.request?.type}: ${w}`));
      const text = JSON.stringify(answer(env));
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    secret,
    received,
    violations,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
