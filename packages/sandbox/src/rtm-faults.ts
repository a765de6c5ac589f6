// The fault switches tests flip on the RTM hub (the hub and its deliveries read them), and which
// open links a fault applies to.

/** Which open links a fault applies to. */
export type Target = 'all' | 'oldest' | 'newest';

export interface RtmFaults {
  /** Pings from the client go unanswered. */
  withholdPongs: boolean;
  /** Acks are counted as withheld and otherwise ignored, so sendings time out. */
  withholdAcks: boolean;
  /** Nothing is delivered and no pings are sent until it is turned off (see `RtmHub.setStall`). */
  stall: boolean;
  /** How many of the next published events go out twice at their first sending. */
  duplicateNext: number;
}

export function noFaults(): RtmFaults {
  return { withholdPongs: false, withholdAcks: false, stall: false, duplicateNext: 0 };
}
