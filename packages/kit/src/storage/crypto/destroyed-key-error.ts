import { CodedError } from '../../errors';

/** Whose a data key was: a team's key (subjectRef '') or a subject's within the team. */
export interface KeyOwner {
  readonly teamId: string;
  readonly scope: 'team' | 'subject' | 'index';
  readonly subjectRef: string;
}

/** DATA_KEY_DESTROYED, saying whose key it was, so a reader can tell an erasure from a foreign key id. */
export class DestroyedKeyError extends CodedError {
  constructor(
    keyId: string,
    readonly owner: KeyOwner,
  ) {
    super('DATA_KEY_DESTROYED', `data key ${keyId} was destroyed (erased Data)`);
  }
}
