// A place OphGate sends its results to. The export stage (src/pipeline/stages/export.ts) knows only this
// interface; each protocol is one file (stow-rs-destination.ts, dimse-destination.ts).
export interface OutgoingObject {
  /** The PS3.10 file as stored (its bytes are what every attempt sends: same UIDs, same content). */
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
}

export type SendOutcome =
  | { ok: true; transferSyntaxUid?: string; warning?: string }
  | { ok: false; error: string };

export interface Destination {
  readonly name: string;
  /** For logs and errors: protocol and address, never credentials. */
  readonly description: string;
  /** Sends the objects of one study; one outcome per object, in order. Never throws for a delivery failure. */
  send(objects: OutgoingObject[]): Promise<SendOutcome[]>;
}
