import type {
  Change,
  ConflictListResponse,
  LiveEvent,
  PullResponse,
  PushOp,
  PushResponse,
  RejectionListResponse,
  ResolveRequest,
  ResolveResponse,
} from '@outpost/core';
import type { PullRequest } from '../http-transport';

/** `signal` abandons the request: the sync engine's, aborted when the client closes. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What the sync engine needs of the server. The HTTP transport implements it; tests may cut it. */
export interface SyncTransport {
  push(
    request: { clientId: string; deviceId: string; ops: readonly PushOp[] },
    options?: CallOptions,
  ): Promise<PushResponse>;
  pull(request?: PullRequest, options?: CallOptions): Promise<PullResponse>;
  /** One record as the server holds it, or null when it does not exist. */
  getRecord(collection: string, id: string, options?: CallOptions): Promise<Change | null>;
  resolveConflict(id: string, request: ResolveRequest): Promise<ResolveResponse>;
  undoConflict(id: string): Promise<ResolveResponse>;
  /** One page of the server's conflict archive, as far as this user may see it (administrators: all). */
  listConflicts(query?: ConflictListRequest, options?: CallOptions): Promise<ConflictListResponse>;
  /** One page of the server's rejection archive, as far as this user may see it. */
  listRejections(query?: RejectionListRequest): Promise<RejectionListResponse>;
  /**
   * Opens the server's live stream and hands over each event as it arrives. Resolves when the
   * server ends the stream, rejects when it cannot be opened (an OutpostError with the server's
   * code) or breaks; `signal` closes it. Absent: the transport has no live stream.
   */
  listen?(signal: AbortSignal, onEvent: (event: LiveEvent) => void): Promise<void>;
}

export interface RejectionListRequest {
  collection?: string;
  recordId?: string;
  opId?: string;
  deviceId?: string;
  limit?: number;
  cursor?: string;
}

export interface ConflictListRequest {
  status?: 'open' | 'resolved';
  collection?: string;
  /** One record's conflicts. */
  recordId?: string;
  limit?: number;
  cursor?: string;
}
