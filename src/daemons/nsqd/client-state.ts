/** A V2 client's place in the protocol (nsqd's stateInit … stateClosing). */
export const ClientState = { Init: 0, Disconnected: 1, Connected: 2, Subscribed: 3, Closing: 4 } as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];
