import * as dgram from 'node:dgram';
import * as net from 'node:net';

/*
 * Ports are drawn at random below Linux's ephemeral range (32768+), so they never collide with
 * the source ports of outgoing connections, and each is checked free for TCP and UDP (Serf uses
 * both). Another process can still take one between the check and Consul's bind: the agent then
 * exits with "address already in use" and `startConsulAgent` retries on fresh ports.
 */
const LOW = 20_000;
const HIGH = 32_000;

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** `count` distinct ports free for TCP and UDP on every one of `hosts`. */
export async function findFreePorts(hosts: readonly string[], count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 1_000) throw new Error(`No ${count} free ports in ${LOW}-${HIGH} on ${hosts}`);
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (ports.includes(port)) continue;
    let free = true;
    for (const host of hosts) {
      free = free && (await tcpFree(host, port)) && (await udpFree(host, port));
    }
    if (free) ports.push(port);
  }
  return ports;
}

/** Whether this machine can bind `host` (127.0.0.2 and up work on Linux, not on macOS by default). */
export function canBind(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port: 0 }, () => server.close(() => resolve(true)));
  });
}
