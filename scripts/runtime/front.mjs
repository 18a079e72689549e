// The gateway's public port, bound the moment scripts/dev starts: a port in use is
// reported at once, and a connection made while the system starts is held (its bytes
// wait unread) and then handed to miniflare, never refused. Each connection is one TCP
// pipe to miniflare's own port on loopback, so HTTP, keep-alive and headers pass as sent
// (half-closes too: a client that shuts its side after the request still gets the answer).
// Both sides of the pipe send at once (no Nagle): an answer written in two pieces waited
// for the client's delayed ACK, about 40 ms, which was most of the local runtime's latency.
import net from "node:net";

/** The port could not be bound (in use, or not allowed). */
export class PortUnavailable extends Error {}

/**
 * Listens on `host:port` now. `open(targetPort)` starts passing connections (held ones
 * first) to miniflare on 127.0.0.1:targetPort; `close()` stops listening.
 * @returns {Promise<{port: number, open: (targetPort: number) => void, close: () => void}>}
 */
export async function bindFront(host, port) {
  let target = null;
  const held = new Set();

  const pass = (socket) => {
    const upstream = net.connect({ port: target, host: "127.0.0.1", allowHalfOpen: true, noDelay: true });
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", end);
    upstream.on("error", end);
    socket.pipe(upstream);
    upstream.pipe(socket);
  };

  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (socket) => {
    if (target !== null) return pass(socket);
    held.add(socket);
    socket.on("close", () => held.delete(socket));
    socket.on("error", () => held.delete(socket));
  });

  await new Promise((resolve, reject) => {
    server.once("error", (error) => {
      const why = error.code === "EADDRINUSE" ? "is in use (another scripts/dev? pick one with --port)" : `cannot be bound (${error.code ?? error.message})`;
      reject(new PortUnavailable(`scripts/dev: port ${port} on ${host} ${why}`));
    });
    server.listen({ host, port }, resolve);
  });
  server.on("error", () => {}); // after listening, a failed accept affects that client only

  return {
    port: server.address().port,
    open(targetPort) {
      target = targetPort;
      for (const socket of held) {
        held.delete(socket);
        if (!socket.destroyed) pass(socket);
      }
    },
    close: () => server.close(), // open connections end with miniflare
  };
}
