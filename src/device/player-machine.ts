/**
 * The player statechart: the speaker's audio player working through one
 * `AudioPlayer.Play` playlist (SKILL-PROTOCOL §4, DingDang's shape: a
 * `playlist`, items with `stream.token`, `pay: true` on what the user has not
 * bought, no url there).
 *
 * * `loaded.playing.running` / `loaded.playing.paused` — an item with a url;
 * * `loaded.asking` — the player came to a `pay: true` item (the previous one
 *   ended, next / previous, a tap, "播放下一集"): it does not play it but asks
 *   the platform (`selectElement`, docs/device-protocol.md §3.8), which sends
 *   the skill `Display.ElementSelected` with the item's token;
 * * `loaded.buying` — the skill answered with a Charge: the purchase flow runs
 *   (the companion's purchase machine); the player waits for its end;
 * * `loaded.stopped` — stopped at an item, with the reason (`stopReason`):
 *   declined, cancelled, not offered, the platform unreachable, the user;
 *   never silently skipping ahead. "继续播放" asks again;
 * * `loaded.ended` — the playlist is over.
 *
 * After a purchase the resume's `AudioPlayer.Play` (flow C) is a new
 * playlist: the skill puts the bought item first, so listening goes on from
 * it. Decisions (DingDang documents none of the player's behaviour): playback
 * starts at the first item of a playlist; next on the last item ends it;
 * previous on the first does nothing; while a purchase runs, next / previous
 * / taps wait (the purchase dialog has the speaker).
 *
 * Pure: the only effect is the named actor `selectElement` (the companion
 * provides it over the transport) and emitted events.
 */
import { assign, emit, fromPromise, setup } from 'xstate';
import { playlistOf, type PlayerItem } from './playlist.js';
import type { SelectCause, SelectElementRequest, SelectElementResult } from './port.js';

export type { PlayerItem } from './playlist.js';

/**
 * Why the player stopped at an item: `user` (asked to stop), `cancelled` /
 * `timedOut` / `failed` (the purchase ended without the item), `notOffered`
 * (the skill answered the selection with neither a Charge nor a playlist),
 * `answered` (paid, but the resume brought nothing to play), `unreachable`
 * (the platform could not be asked), `unplayable` (no url, not for sale).
 */
export type StopReason = 'user' | 'cancelled' | 'timedOut' | 'failed' | 'notOffered' | 'answered' | 'unreachable' | 'unplayable';

export interface PlayerContext {
  items: PlayerItem[];
  index: number;
  cause: SelectCause;
  skillId: string | undefined;
  mode: SelectElementRequest['mode'];
  /** The first item of this playlist came with the resume after a payment. */
  resumed: boolean;
  stopReason: StopReason | undefined;
  /** The skill's answer to the last selection. */
  answer: SelectElementResult | undefined;
}

export interface PlayerInput {
  mode: SelectElementRequest['mode'];
}

/** How a purchase the player started came out (sent by the companion). */
export interface PurchaseEnd {
  outcome: string;
  /** The resume's playlist (flow C), already read into items; empty when the resume played nothing. */
  items: PlayerItem[];
}

export type PlayerEvent =
  | { type: 'LOAD'; items: PlayerItem[]; skillId?: string; resumed?: boolean }
  | { type: 'NEXT'; cause?: 'next' | 'voice' }
  | { type: 'PREVIOUS' }
  | { type: 'ENDED' }
  | { type: 'TAP'; index: number }
  | { type: 'PAUSE' }
  | { type: 'CONTINUE' }
  | { type: 'STOP' }
  | ({ type: 'PURCHASE_ENDED' } & PurchaseEnd);

export type PlayerEmitted =
  | { type: 'play'; context: PlayerContext }
  | { type: 'asking'; context: PlayerContext }
  | { type: 'offer'; context: PlayerContext }
  | { type: 'stopped'; context: PlayerContext }
  | { type: 'paused'; paused: boolean; context: PlayerContext }
  | { type: 'edge'; first: boolean; context: PlayerContext }
  | { type: 'ended'; context: PlayerContext };

export const PLAYER_DELAYS = {
  /** Asking the platform about a paid item (the skill has 1 s; the link has its own timeouts). */
  SELECT_TIMEOUT: 12_000,
};

const current = (c: PlayerContext): PlayerItem | undefined => c.items[c.index];
const findCharge = (d: unknown[]): boolean => d.some((x) => (x as { type?: unknown; name?: unknown })?.name === 'Charge');

export const playerMachine = setup({
  types: {
    context: {} as PlayerContext,
    events: {} as PlayerEvent,
    input: {} as PlayerInput,
    emitted: {} as PlayerEmitted,
  },
  actors: {
    selectElement: fromPromise<SelectElementResult, SelectElementRequest>(async () => {
      throw new Error('actor selectElement was not provided');
    }),
  },
  guards: {
    locked: ({ context }) => current(context)?.locked === true,
    playable: ({ context }) => current(context)?.url !== undefined,
    hasNext: ({ context }) => context.index < context.items.length - 1,
    hasPrevious: ({ context }) => context.index > 0,
    validTap: ({ context, event }) => event.type === 'TAP' && Number.isInteger(event.index) && event.index >= 0 && event.index < context.items.length,
    hasItems: ({ event }) => (event.type === 'LOAD' || event.type === 'PURCHASE_ENDED') && event.items.length > 0,
    charged: ({ context }) => context.answer?.purchaseId !== undefined && findCharge(context.answer.directives),
    answerPlays: ({ context }) => playlistOf(context.answer?.directives).length > 0,
    outcome: ({ event }, p: { is: string }) => event.type === 'PURCHASE_ENDED' && event.outcome === p.is,
  },
  actions: {
    load: assign(({ context, event }) =>
      event.type === 'LOAD' || event.type === 'PURCHASE_ENDED'
        ? {
            items: event.items,
            index: 0,
            cause: 'start' as const,
            skillId: event.type === 'LOAD' ? event.skillId : context.skillId,
            resumed: event.type === 'PURCHASE_ENDED' || event.resumed === true,
            stopReason: undefined,
          }
        : {},
    ),
    go: assign(({ context }, p: { by: number; cause: SelectCause }) => ({
      index: context.index + p.by,
      cause: p.cause,
      resumed: false,
      stopReason: undefined,
    })),
    tap: assign(({ event }) => (event.type === 'TAP' ? { index: event.index, cause: 'tap' as const, resumed: false, stopReason: undefined } : {})),
    loadAnswer: assign(({ context }) => ({ items: playlistOf(context.answer?.directives), index: 0, cause: 'start' as const, resumed: false })),
    retry: assign({ cause: 'retry' as const, resumed: false, stopReason: undefined }),
    stopFor: assign({ stopReason: (_, p: { reason: StopReason }) => p.reason }),
    tell: emit(({ context }, p: { type: 'play' | 'asking' | 'offer' | 'stopped' | 'ended' }) => ({ type: p.type, context })),
    edge: emit(({ context }, p: { first: boolean }) => ({ type: 'edge' as const, first: p.first, context })),
    pausedTell: emit(({ context }, p: { paused: boolean }) => ({ type: 'paused' as const, paused: p.paused, context })),
  },
  delays: PLAYER_DELAYS,
}).createMachine({
  id: 'player',
  context: ({ input }) => ({
    items: [],
    index: -1,
    cause: 'start',
    skillId: undefined,
    mode: input.mode,
    resumed: false,
    stopReason: undefined,
    answer: undefined,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { LOAD: { guard: 'hasItems', target: 'loaded', actions: 'load' } },
    },
    loaded: {
      initial: 'arriving',
      on: {
        // A new playlist replaces the one playing (or waiting, or stopped).
        LOAD: { guard: 'hasItems', target: '.arriving', actions: 'load' },
        NEXT: [
          {
            guard: 'hasNext',
            target: '.arriving',
            actions: { type: 'go', params: ({ event }) => ({ by: 1, cause: event.cause ?? 'next' }) },
          },
          { target: '.ended' },
        ],
        PREVIOUS: [
          {
            guard: 'hasPrevious',
            target: '.arriving',
            actions: { type: 'go', params: { by: -1, cause: 'previous' } },
          },
          { actions: { type: 'edge', params: { first: true } } },
        ],
        TAP: { guard: 'validTap', target: '.arriving', actions: 'tap' },
        STOP: { target: '.stopped', actions: { type: 'stopFor', params: { reason: 'user' } } },
      },
      states: {
        // Came to an item: play it, ask about it, or stop at it.
        arriving: {
          always: [
            { guard: 'locked', target: 'asking' },
            { guard: 'playable', target: 'playing' },
            { target: 'stopped', actions: { type: 'stopFor', params: { reason: 'unplayable' } } },
          ],
        },
        // An item with a url: the host plays `url`; pausing keeps the item (no new `play`).
        playing: {
          entry: { type: 'tell', params: { type: 'play' } },
          initial: 'running',
          states: {
            running: {
              on: {
                PAUSE: { target: 'paused', actions: { type: 'pausedTell', params: { paused: true } } },
                ENDED: [
                  { guard: 'hasNext', target: '#player.loaded.arriving', actions: { type: 'go', params: { by: 1, cause: 'ended' } } },
                  { target: '#player.loaded.ended' },
                ],
              },
            },
            paused: {
              on: {
                CONTINUE: { target: 'running', actions: { type: 'pausedTell', params: { paused: false } } },
                PAUSE: { target: 'running', actions: { type: 'pausedTell', params: { paused: false } } },
              },
            },
          },
        },
        // A `pay: true` item: the platform sends the skill Display.ElementSelected.
        asking: {
          entry: [assign({ answer: undefined }), { type: 'tell', params: { type: 'asking' } }],
          invoke: {
            src: 'selectElement',
            input: ({ context }) => ({
              token: current(context)?.token ?? '',
              mode: context.mode,
              cause: context.cause,
              ...(context.skillId !== undefined ? { skillId: context.skillId } : {}),
            }),
            onDone: { target: 'answered', actions: assign({ answer: ({ event }) => event.output }) },
            onError: { target: 'stopped', actions: { type: 'stopFor', params: { reason: 'unreachable' } } },
          },
          after: { SELECT_TIMEOUT: { target: 'stopped', actions: { type: 'stopFor', params: { reason: 'unreachable' } } } },
        },
        answered: {
          always: [
            { guard: 'charged', target: 'buying' },
            // The skill answered with a playlist instead (e.g. the item is owned already): play that.
            { guard: 'answerPlays', target: 'arriving', actions: 'loadAnswer' },
            { target: 'stopped', actions: { type: 'stopFor', params: { reason: 'notOffered' } } },
          ],
        },
        // The purchase flow has the speaker; the player waits for its end.
        buying: {
          entry: { type: 'tell', params: { type: 'offer' } },
          on: {
            NEXT: {},
            PREVIOUS: {},
            TAP: {},
            PURCHASE_ENDED: [
              { guard: 'hasItems', target: 'arriving', actions: 'load' },
              { guard: { type: 'outcome', params: { is: 'done' } }, target: 'stopped', actions: { type: 'stopFor', params: { reason: 'answered' } } },
              { guard: { type: 'outcome', params: { is: 'cancelled' } }, target: 'stopped', actions: { type: 'stopFor', params: { reason: 'cancelled' } } },
              { guard: { type: 'outcome', params: { is: 'timedOut' } }, target: 'stopped', actions: { type: 'stopFor', params: { reason: 'timedOut' } } },
              { target: 'stopped', actions: { type: 'stopFor', params: { reason: 'failed' } } },
            ],
          },
        },
        stopped: {
          entry: { type: 'tell', params: { type: 'stopped' } },
          on: { CONTINUE: { target: 'arriving', actions: 'retry' } },
        },
        ended: {
          entry: { type: 'tell', params: { type: 'ended' } },
          on: { NEXT: { actions: { type: 'edge', params: { first: false } } } },
        },
      },
    },
  },
});

export type PlayerMachine = typeof playerMachine;
