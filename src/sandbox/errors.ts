/**
 * Errors of the sandbox (`dingdang-pay/sandbox`). Every one extends
 * `DingDangPayError` (stable `code`), and one table says what each becomes on
 * HTTP — on the control API (`/sandbox/v1`) and on the device link
 * (docs/device-protocol.md §3.7).
 *
 * | class | `code` | control API | device link |
 * |---|---|---|---|
 * | `SandboxConfigError` | `ERR_SANDBOX_CONFIG` | – (thrown at start) | – |
 * | `SandboxStateError` `UNKNOWN_PURCHASE` | `ERR_STATE` | 404 | 404 `NOT_FOUND` |
 * | `SandboxStateError` other `UNKNOWN_*` | `ERR_STATE` | 404 | 409 `ORDER_REFUSED` |
 * | `SandboxStateError` `NOT_PAID` / `ALREADY_FINAL` / `EXPIRED` | `ERR_STATE` | 409 | 409 `NOT_PAID` / `ALREADY_PAID` / `EXPIRED` |
 * | `SandboxStateError` other | `ERR_STATE` | 409 | 409 `ORDER_REFUSED` |
 * | `HttpError` | `ERR_HTTP` | its `status` | its `deviceCode` (default 400 `BAD_REQUEST`) |
 * | `InvalidArgumentError` (protocol) | `ERR_INVALID_ARGUMENT` | 400 | 400 `BAD_REQUEST` |
 * | `ValidationError` (protocol) | `ERR_VALIDATION` | 400 | 502 `UPSTREAM` |
 * | `RemoteError` (protocol) | `ERR_REMOTE` | 502 (+ `retMsg`) | 502 `UPSTREAM`; on `…/order` 409 `ORDER_REFUSED` |
 * | `TimeoutError` (protocol) | `ERR_TIMEOUT` | 504 | 502 `UPSTREAM` |
 * | `TransportError`, `SignatureError` (protocol) | `ERR_TRANSPORT`, `ERR_SIGNATURE` | 502 | 502 `UPSTREAM` |
 * | any other `DingDangPayError` | its code | 500 | 502 `UPSTREAM` |
 * | anything else | `ERR_INTERNAL` | 500 | 500 `INTERNAL` |
 * | `SandboxApiError` (the client's) | `ERR_SANDBOX_API` | the reply's `status`, `errorCode`, `reason` | – |
 *
 * The device link's status of each code is the contract's
 * (`DEVICE_LINK_ERROR_STATUS`, src/protocol/device-link.ts).
 *
 * Browser-safe (the typed client uses it): imports only protocol modules.
 */
import { DEVICE_LINK_ERROR_STATUS, type DeviceLinkErrorCode } from '../protocol/device-link.js';
import { DingDangPayError, InvalidArgumentError, RemoteError, TimeoutError, TransportError } from '../protocol/errors.js';

/** The sandbox configuration is unusable. `path` names the offending field (e.g. `skills[0].skillPublicKey`). */
export class SandboxConfigError extends DingDangPayError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_SANDBOX_CONFIG', path ? `config ${path}: ${message}` : `config: ${message}`, options);
    this.path = path;
  }
}

/** Why an order-book operation was refused. Stable, switchable. */
export type OrderBookReason =
  | 'UNKNOWN_ORDER'
  | 'UNKNOWN_REFUND'
  | 'UNKNOWN_PURCHASE'
  | 'UNKNOWN_SKILL'
  | 'DUPLICATE_TRADE_NO'
  | 'NOT_PAID'
  | 'ALREADY_FINAL'
  | 'EXPIRED'
  | 'AMOUNT_MISMATCH'
  | 'REFUND_EXCEEDS_PAID'
  | 'REFUND_CONFLICT'
  | 'ORDER_MISMATCH'
  | 'BAD_STATE';

/** An order, refund or purchase operation the platform refuses; no state changed. */
export class SandboxStateError extends DingDangPayError {
  readonly reason: OrderBookReason;
  constructor(reason: OrderBookReason, message: string) {
    super('ERR_STATE', message);
    this.reason = reason;
  }
}

/** A request the sandbox's HTTP surface refuses as such (bad URL, body too large, unknown device …). */
export class HttpError extends DingDangPayError {
  constructor(
    readonly status: number,
    message: string,
    /** The device link's code for it (default `BAD_REQUEST`). */
    readonly deviceCode?: DeviceLinkErrorCode,
  ) {
    super('ERR_HTTP', message);
  }
}

/** The control API's error body: `{ error: ControlApiError }`. */
export interface ControlApiError {
  /** The error's stable code (`ERR_STATE`, `ERR_INVALID_ARGUMENT`, `ERR_HTTP` …). */
  code: string;
  message: string;
  /** `SandboxStateError`'s reason (`UNKNOWN_ORDER`, `NOT_PAID` …), a signature failure's reason. */
  reason?: string;
  /** The skill backend's `retMsg` of a refused create order. */
  retMsg?: string;
}

/** A control API call answered with an error (non-2xx): what the sandbox said, typed. Thrown by `SandboxClient`. */
export class SandboxApiError extends DingDangPayError {
  /** The HTTP status of the reply. */
  readonly status: number;
  /** The sandbox's error code (`error.code` of the reply): `ERR_STATE`, `ERR_INVALID_ARGUMENT`, `ERR_HTTP` … */
  readonly errorCode: string;
  /** `error.reason` (a `SandboxStateError` reason such as `NOT_PAID`), when given. */
  readonly reason: string | undefined;
  /** `error.retMsg` (a refused create order), when given. */
  readonly retMsg: string | undefined;
  /** `METHOD /sandbox/v1/path` of the call. */
  readonly call: string;
  constructor(call: string, status: number, error: Partial<ControlApiError>) {
    super('ERR_SANDBOX_API', `sandbox ${call}: HTTP ${status}${error.message ? ` ${error.message}` : ''}`);
    this.call = call;
    this.status = status;
    this.errorCode = typeof error.code === 'string' ? error.code : 'ERR_HTTP';
    this.reason = typeof error.reason === 'string' ? error.reason : undefined;
    this.retMsg = typeof error.retMsg === 'string' ? error.retMsg : undefined;
  }
}

/** Code → class, one per stable code of the sandbox. */
export const SANDBOX_ERROR_CODES = {
  ERR_SANDBOX_CONFIG: SandboxConfigError,
  ERR_STATE: SandboxStateError,
  ERR_HTTP: HttpError,
  ERR_SANDBOX_API: SandboxApiError,
} as const;
export type SandboxErrorCode = keyof typeof SANDBOX_ERROR_CODES;

// ── the status table ─────────────────────────────────────────────────

interface StatusRow {
  test: (e: DingDangPayError) => boolean;
  /** The control API's HTTP status. */
  control: number;
  /** The device link's code (its status: `DEVICE_LINK_ERROR_STATUS`); `order` is the create-order route (`POST …/order`). */
  device: DeviceLinkErrorCode | ((e: DingDangPayError, order: boolean) => DeviceLinkErrorCode);
}

const stateReason = (reason: OrderBookReason | 'UNKNOWN_*') => (e: DingDangPayError) =>
  e instanceof SandboxStateError && (reason === 'UNKNOWN_*' ? e.reason.startsWith('UNKNOWN_') : e.reason === reason);

/** First matching row wins. */
const STATUS_TABLE: readonly StatusRow[] = [
  { test: (e) => e instanceof HttpError, control: 0, device: (e) => (e as HttpError).deviceCode ?? 'BAD_REQUEST' },
  { test: stateReason('UNKNOWN_PURCHASE'), control: 404, device: 'NOT_FOUND' },
  { test: stateReason('UNKNOWN_*'), control: 404, device: 'ORDER_REFUSED' },
  { test: stateReason('NOT_PAID'), control: 409, device: 'NOT_PAID' },
  { test: stateReason('ALREADY_FINAL'), control: 409, device: 'ALREADY_PAID' },
  { test: stateReason('EXPIRED'), control: 409, device: 'EXPIRED' },
  { test: (e) => e instanceof SandboxStateError, control: 409, device: 'ORDER_REFUSED' },
  { test: (e) => e instanceof InvalidArgumentError, control: 400, device: 'BAD_REQUEST' },
  { test: (e) => e.code === 'ERR_VALIDATION', control: 400, device: 'UPSTREAM' },
  { test: (e) => e instanceof RemoteError, control: 502, device: (_e, order) => (order ? 'ORDER_REFUSED' : 'UPSTREAM') },
  { test: (e) => e instanceof TimeoutError, control: 504, device: 'UPSTREAM' },
  { test: (e) => e instanceof TransportError || e.code === 'ERR_SIGNATURE', control: 502, device: 'UPSTREAM' },
  { test: () => true, control: 500, device: 'UPSTREAM' },
];

const rowOf = (e: DingDangPayError): StatusRow => STATUS_TABLE.find((r) => r.test(e))!;

/** What an error becomes on the control API: status and `{ error }` body. */
export function controlErrorOf(e: unknown): { status: number; error: ControlApiError } {
  if (!(e instanceof DingDangPayError)) return { status: 500, error: { code: 'ERR_INTERNAL', message: 'internal error' } };
  const status = e instanceof HttpError ? e.status : rowOf(e).control;
  const error: ControlApiError = { code: e.code, message: e.message };
  if (e instanceof RemoteError && e.retMsg !== undefined) error.retMsg = e.retMsg;
  const reason = (e as { reason?: unknown }).reason;
  if (typeof reason === 'string') error.reason = reason;
  return { status, error };
}

/** What an error becomes on the device link (docs/device-protocol.md §3.7); `order`: the create-order route. */
export function deviceErrorOf(e: unknown, order = false): { status: number; code: DeviceLinkErrorCode; message: string } {
  if (!(e instanceof DingDangPayError)) return { status: 500, code: 'INTERNAL', message: 'internal error' };
  const cell = rowOf(e).device;
  const code = typeof cell === 'function' ? cell(e, order) : cell;
  const status = DEVICE_LINK_ERROR_STATUS[code];
  const message = e instanceof RemoteError && order ? (e.retMsg ?? e.message) : e.message;
  return { status, code, message };
}
