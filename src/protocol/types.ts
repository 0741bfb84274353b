/**
 * Wire types of the seed's six pay interfaces, their replies, and the skill
 * protocol pieces of a purchase (Charge directive, Charge response event).
 *
 * Money fields are integer fen. Unknown fields are accepted and ignored
 * ("接口参数有可能扩展，请做好兼容"), hence the open index signatures.
 */
import type { Fen } from './money.js';

export type RetCode = 'SUCCESS' | 'FAIL';
export type TradeStatus = 'NOTPAY' | 'PROCESSING' | 'SUCCESS' | 'FAIL';
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

export const TRADE_STATUSES: readonly TradeStatus[] = ['NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'];
export const REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS', 'FAIL'];
export const DEFAULT_VERSION = '1.0';

/** Production host of the platform's pay CGI (seed §3–§5). */
export const DEFAULT_PAY_BASE_URL = 'https://aiwx.html5.qq.com';
export const PAY_PATHS = {
  orderQuery: '/paycgi/orderquery',
  refund: '/paycgi/refund',
  refundQuery: '/paycgi/refundquery',
} as const;

/**
 * Project decision: a create-order reply that refuses because the user already
 * owns the goods says `retCode: "FAIL"` with this exact `retMsg`, so the
 * platform and the device can go straight to the resume (flow C).
 */
export const RET_MSG_ALREADY_OWNED = 'ALREADY_OWNED';

interface Open {
  [extra: string]: unknown;
}

/** 商品详情: one line of an order. `amount` is the line total in fen (unit price × quantity). */
export interface OrderDetail extends Open {
  itemId: string;
  quantity: number;
  amount: Fen;
}

/** 1 创建订单 — platform → skill backend. */
export interface CreateOrderRequest extends Open {
  skillId: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  nonceStr: string;
}
export interface CreateOrderReply extends Open {
  retCode: RetCode;
  retMsg?: string;
  /** Present when `retCode` is SUCCESS. */
  tradeNo?: string;
}

/** 2 通知发货 — platform → skill backend, may repeat. */
export interface DeliverNotifyRequest extends Open {
  skillId: string;
  userToken: string;
  transactionId: string;
  tradeNo: string;
  totalAmt: Fen;
  nonceStr: string;
}

/** Reply of the notifications (deliver, refund result). */
export interface AckReply extends Open {
  retCode: RetCode;
  retMsg?: string;
}
export type DeliverNotifyReply = AckReply;
export type RefundNotifyReply = AckReply;

/** 3 查询订单 — skill backend → platform `/paycgi/orderquery`. Either `transactionId` or `tradeNo`. */
export interface OrderQueryRequest extends Open {
  skillId: string;
  transactionId?: string;
  tradeNo?: string;
  version?: string;
  nonceStr: string;
}
export interface OrderQueryReply extends Open {
  retCode: RetCode;
  retMsg?: string;
  skillId?: string;
  transactionId?: string;
  tradeNo?: string;
  totalAmt?: Fen;
  tradeStatus?: TradeStatus;
  tradeStatusDesc?: string;
}

/** 4 申请退款 — skill backend → platform `/paycgi/refund`. */
export interface RefundRequest extends Open {
  skillId: string;
  transactionId?: string;
  tradeNo?: string;
  refundTradeNo: string;
  totalAmt: Fen;
  refundAmt: Fen;
  refundDesc?: string;
  refundDetails: OrderDetail[];
  version?: string;
  nonceStr: string;
}
export interface RefundReply extends Open {
  retCode: RetCode;
  retMsg?: string;
  skillId?: string;
  transactionId?: string;
  tradeNo?: string;
  refundTransactionId?: string;
  refundTradeNo?: string;
  totalAmt?: Fen;
  refundAmt?: Fen;
}

/** 5 查询退款 — skill backend → platform `/paycgi/refundquery`. Either id. */
export interface RefundQueryRequest extends Open {
  skillId: string;
  refundTransactionId?: string;
  refundTradeNo?: string;
  version?: string;
  nonceStr: string;
}
export interface RefundQueryReply extends RefundReply {
  refundStatus?: RefundStatus;
  refundStatusDesc?: string;
}

/** 6 退款结果通知 — platform → skill backend (optional for the partner). */
export interface RefundNotifyRequest extends Open {
  skillId: string;
  transactionId: string;
  tradeNo: string;
  refundTransactionId: string;
  refundTradeNo: string;
  totalAmt: Fen;
  refundAmt: Fen;
  refundStatus: RefundStatus;
  refundStatusDesc: string;
  nonceStr: string;
}

/** One item of a Charge directive. `price` is the unit price, `totalFee` = price × count, all fen. */
export interface ChargeItem extends Open {
  itemId: string;
  itemName: string;
  price: Fen;
  count: number;
  totalFee: Fen;
}
export interface ChargeInfo extends Open {
  name: string;
  description?: string;
  /** The user's id at the partner, when the skill has no account linking. */
  userId?: string;
  items: ChargeItem[];
}
/** The skill starts a payment with this entry in its response's `directives`. */
export interface ChargeDirective extends Open {
  type: 'Connections.SendRequest';
  name: 'Charge';
  payload: { chargeInfo: ChargeInfo; [extra: string]: unknown };
}
/** After payment the platform sends the skill this request (`request` of the envelope). */
export interface ChargeResponseEvent extends Open {
  type: 'Connections.Response';
  name: 'Charge';
  requestId: string;
  timestamp: string;
  payload: {
    /** The platform's order id (`transactionId`). */
    dingdangOrderId: string;
    /** The skill backend's `tradeNo`. */
    partnerOrderId: string;
    [extra: string]: unknown;
  };
}

/** Names of the six interfaces plus the skill-protocol pieces, used by `validate`. */
export type MessageKind =
  | 'createOrderRequest'
  | 'createOrderReply'
  | 'deliverNotifyRequest'
  | 'deliverNotifyReply'
  | 'orderQueryRequest'
  | 'orderQueryReply'
  | 'refundRequest'
  | 'refundReply'
  | 'refundQueryRequest'
  | 'refundQueryReply'
  | 'refundNotifyRequest'
  | 'refundNotifyReply'
  | 'chargeDirective'
  | 'chargeResponseEvent';

export interface MessageTypes {
  createOrderRequest: CreateOrderRequest;
  createOrderReply: CreateOrderReply;
  deliverNotifyRequest: DeliverNotifyRequest;
  deliverNotifyReply: DeliverNotifyReply;
  orderQueryRequest: OrderQueryRequest;
  orderQueryReply: OrderQueryReply;
  refundRequest: RefundRequest;
  refundReply: RefundReply;
  refundQueryRequest: RefundQueryRequest;
  refundQueryReply: RefundQueryReply;
  refundNotifyRequest: RefundNotifyRequest;
  refundNotifyReply: RefundNotifyReply;
  chargeDirective: ChargeDirective;
  chargeResponseEvent: ChargeResponseEvent;
}
