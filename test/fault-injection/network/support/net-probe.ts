// A network probe, run in a host of a test's network (node --import tsx net-probe.ts ...):
//   serve-tcp <address> <port>        echo server; prints "listening"
//   serve-udp <address> <port>        counts datagrams; prints "listening", then {"received":n} when stdin closes
//   connect <address> <port> <ms>     one TCP connect given up after ms: {"ok","ms","code"}
//   rtt <address> <port> <count>      round trips of one byte over one connection: {"samples":[ms,...]}
//   send-udp <address> <port> <count> that many datagrams, one after the other
// Servers end when their stdin closes, so that none outlives its test.
import dgram from "node:dgram";
import net from "node:net";

const [command, address, portText, numberText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(numberText);
const print = (value: unknown) =>
  process.stdout.write(`${typeof value === "string" ? value : JSON.stringify(value)}\n`);
const endWithStdin = (end: () => void) => process.stdin.on("end", end).resume();

switch (command) {
  case "serve-tcp": {
    // No Nagle: an echo waiting for the ACK of the previous one would add a delayed host's delay twice.
    const server = net.createServer((socket) =>
      socket
        .setNoDelay(true)
        .pipe(socket)
        .on("error", () => undefined),
    );
    server.listen(port, address, () => print("listening"));
    endWithStdin(() => process.exit(0));
    break;
  }
  case "serve-udp": {
    let received = 0;
    // Room for every datagram of a test, so that only the fault drops any.
    const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 8 << 20 }).on("message", () => received++);
    socket.bind(port, address, () => print("listening"));
    endWithStdin(() => {
      print({ received });
      process.exit(0);
    });
    break;
  }
  case "connect": {
    const started = Date.now();
    const done = (ok: boolean, code: string | null) => {
      print({ ok, ms: Date.now() - started, code });
      process.exit(0);
    };
    const socket = net.connect(port, address, () => done(true, null));
    socket.on("error", (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    setTimeout(() => done(false, "GAVE_UP"), n);
    break;
  }
  case "rtt": {
    const socket = net.connect(port, address, () => void roundTrips(socket, n));
    break;
  }
  case "send-udp": {
    const socket = dgram.createSocket("udp4");
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) =>
        socket.send(`datagram ${i}`, port, address, (err) => (err ? reject(err) : resolve())),
      );
      // Paced, so that no datagram is lost to a full socket buffer: only the fault may drop.
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
    }
    socket.close();
    break;
  }
  default:
    process.stderr.write(`unknown probe command '${command}'\n`);
    process.exit(2);
}

/** `n` one-byte round trips on a connected socket; prints each one's time and exits. */
async function roundTrips(socket: net.Socket, n: number): Promise<void> {
  socket.setNoDelay(true);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("x");
    });
    samples.push(performance.now() - started);
  }
  print({ samples });
  process.exit(0);
}
