import {
  credentials as grpcCredentials,
  Metadata,
  type ChannelCredentials,
  type ClientOptions,
  type ServiceError,
} from "@grpc/grpc-js";
import { fromServiceError } from "../errors/wire.js";
import * as v1 from "../gen/lockstep/agent/v1/agent.js";

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/**
 * How soon a channel tries an agent again after a failed connect. gRPC's default backoff grows
 * to 120 s, so an agent back from a restart was refused for seconds more (11 s in fault seed
 * 5) while every job for its node failed fast and backed off in turn. A refused connect to a
 * node every 2 s at most, from each API process, costs nothing.
 */
const RECONNECT: ClientOptions = { "grpc.initial_reconnect_backoff_ms": 500, "grpc.max_reconnect_backoff_ms": 2_000 };

/** Options of one call. */
export interface CallOptions {
  /** Deadline relative to now; mutating calls should allow for the agent's own timeouts. */
  readonly timeoutMs?: number;
}

export interface AgentClientOptions {
  readonly credentials?: ChannelCredentials;
  readonly defaultTimeoutMs?: number;
  readonly channelOptions?: ClientOptions;
}

/**
 * A promise-returning NodeAgent client whose failures are LockstepErrors with the agent's
 * reason code (mapped from the wire in exactly one place: `fromServiceError`). A call that
 * never reached the agent, or passed its deadline, is UNAVAILABLE: its outcome is unknown,
 * so callers retry mutating calls with the same request ID, never a new one.
 */
export class AgentClient {
  readonly raw: v1.NodeAgentClient;
  private readonly defaultTimeoutMs: number;

  constructor(
    readonly target: string,
    options: AgentClientOptions = {},
  ) {
    this.raw = new v1.NodeAgentClient(target, options.credentials ?? grpcCredentials.createInsecure(), {
      ...RECONNECT,
      ...options.channelOptions,
    });
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  }

  getHealth = this.unary<v1.GetHealthRequest, v1.GetHealthResponse>("getHealth", v1.GetHealthRequest);
  listContainers = this.unary<v1.ListContainersRequest, v1.ListContainersResponse>(
    "listContainers",
    v1.ListContainersRequest,
  );
  getContainer = this.unary<v1.GetContainerRequest, v1.GetContainerResponse>("getContainer", v1.GetContainerRequest);
  inspectLock = this.unary<v1.InspectLockRequest, v1.LockReport>("inspectLock", v1.InspectLockRequest);
  listSnapshots = this.unary<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse>(
    "listSnapshots",
    v1.ListSnapshotsRequest,
  );
  getOperation = this.unary<v1.GetOperationRequest, v1.OperationRecord>("getOperation", v1.GetOperationRequest);
  createContainer = this.unary<v1.CreateContainerRequest, v1.CreateContainerResponse>(
    "createContainer",
    v1.CreateContainerRequest,
  );
  cloneContainer = this.unary<v1.CloneContainerRequest, v1.CreateContainerResponse>(
    "cloneContainer",
    v1.CloneContainerRequest,
  );
  destroyContainer = this.unary<v1.DestroyContainerRequest, v1.DestroyContainerResponse>(
    "destroyContainer",
    v1.DestroyContainerRequest,
  );
  startContainer = this.unary<v1.StartContainerRequest, v1.ContainerStateResponse>(
    "startContainer",
    v1.StartContainerRequest,
  );
  stopContainer = this.unary<v1.StopContainerRequest, v1.ContainerStateResponse>(
    "stopContainer",
    v1.StopContainerRequest,
  );
  updateConfig = this.unary<v1.UpdateConfigRequest, v1.UpdateConfigResponse>("updateConfig", v1.UpdateConfigRequest);
  exec = this.unary<v1.ExecRequest, v1.ExecResponse>("exec", v1.ExecRequest);
  pushFile = this.unary<v1.PushFileRequest, v1.PushFileResponse>("pushFile", v1.PushFileRequest);
  ensureService = this.unary<v1.EnsureServiceRequest, v1.EnsureServiceResponse>(
    "ensureService",
    v1.EnsureServiceRequest,
  );
  createSnapshot = this.unary<v1.CreateSnapshotRequest, v1.CreateSnapshotResponse>(
    "createSnapshot",
    v1.CreateSnapshotRequest,
  );
  deleteSnapshot = this.unary<v1.DeleteSnapshotRequest, v1.DeleteSnapshotResponse>(
    "deleteSnapshot",
    v1.DeleteSnapshotRequest,
  );
  pruneSnapshots = this.unary<v1.PruneSnapshotsRequest, v1.PruneSnapshotsResponse>(
    "pruneSnapshots",
    v1.PruneSnapshotsRequest,
  );
  clearLock = this.unary<v1.ClearLockRequest, v1.ClearLockResponse>("clearLock", v1.ClearLockRequest);

  /** Streams events until `signal` aborts; `onEvent` sees each one. Resolves when the stream ends. */
  watchEvents(
    request: Partial<v1.WatchEventsRequest>,
    onEvent: (event: v1.Event) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.raw.watchEvents(v1.WatchEventsRequest.fromPartial(request));
      signal?.addEventListener("abort", () => stream.cancel(), { once: true });
      stream.on("data", onEvent);
      stream.on("end", resolve);
      stream.on("error", (err: ServiceError) => (signal?.aborted ? resolve() : reject(fromServiceError(err))));
    });
  }

  close(): void {
    this.raw.close();
  }

  private unary<Req, Res>(
    method: keyof v1.NodeAgentClient,
    codec: { fromPartial(partial: Partial<Req>): Req },
  ): (request: Partial<Req>, options?: CallOptions) => Promise<Res> {
    return (partial, options = {}) =>
      new Promise((resolve, reject) => {
        const fn = (this.raw[method] as unknown as Unary<Req, Res>).bind(this.raw);
        const deadline = new Date(Date.now() + (options.timeoutMs ?? this.defaultTimeoutMs));
        fn(codec.fromPartial(partial), new Metadata(), { deadline }, (err, response) =>
          err ? reject(fromServiceError(err)) : resolve(response),
        );
      });
  }
}
