import { Server, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { agentServerCredentials, agentV1, LockstepError, toServiceError } from "@lockstep/shared";
import { testPki } from "../../packages/agent/test/integration/test-pki.js";

/** A node's agent that only notes when each VMID's first GetContainer arrives, and says it is busy. */
export interface RecordingAgent {
  readonly address: string;
  /** The hrtime (ns) of the first GetContainer for `vmid`, once it came. */
  arrival(vmid: number): bigint | undefined;
  stop(): Promise<void>;
}

/**
 * A stand-in for a node's agent, serving the NodeAgent contract over mutual TLS with the node's
 * certificate, as the API expects. A job's first call is the GetContainer that locates its
 * container: its arrival is when the dispatch reached the node. Every call is answered
 * UNAVAILABLE, a transient failure the job retries only after its (long) backoff, so that what
 * follows a dispatch does not load the machine. Methods it does not serve answer UNIMPLEMENTED.
 */
export async function startRecordingAgent(node: string): Promise<RecordingAgent> {
  const arrivals = new Map<number, bigint>();
  const busy = new LockstepError("UNAVAILABLE", "a benchmark's recording agent: it runs nothing");
  const server = new Server();
  server.addService(agentV1.NodeAgentService, {
    getContainer: (
      call: ServerUnaryCall<agentV1.GetContainerRequest, agentV1.GetContainerResponse>,
      callback: sendUnaryData<agentV1.GetContainerResponse>,
    ) => {
      if (!arrivals.has(call.request.vmid)) arrivals.set(call.request.vmid, process.hrtime.bigint());
      callback(toServiceError(busy));
    },
  } as never);
  const credentials = agentServerCredentials(await (await testPki()).node(node));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    arrival: (vmid) => arrivals.get(vmid),
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
