// Two real gobgpd in two namespaces joined by a veth: ctl (ft's speaker, AS 64500) and edge (the peer whose
// adj-in shows what ft announced, AS 64501).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNode, link, startGobgpd, type Gobgpd, type GobgpdOptions, type Node } from '../../../lab/ns/topology.js';
import { GobgpClient } from '../src/client.js';

export interface Peering {
  ctl: Node;
  edge: Node;
  ctlOptions: GobgpdOptions;
  ctlSpeaker: Gobgpd;
  edgeSpeaker: Gobgpd;
  edgeClient: GobgpClient;
  dir: string;
  ctlAddress: string;
  edgeAddress: string;
  restartCtl(): Promise<void>;
  teardown(): Promise<void>;
}

export async function startPeering(label: string): Promise<Peering> {
  const tag = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), `ft-${label}-`));
  const ctl = createNode(`ft-${label}-c-${tag}`);
  const edge = createNode(`ft-${label}-e-${tag}`);
  const ctlAddress = '192.0.2.1';
  const edgeAddress = '192.0.2.2';
  const p: Partial<Peering> & { teardown(): Promise<void> } = {
    async teardown() {
      p.edgeClient?.close();
      await p.ctlSpeaker?.stop();
      await p.edgeSpeaker?.stop();
      ctl.delete();
      edge.delete();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    link(
      { node: ctl, ifname: `fc${tag}`, addresses: [`${ctlAddress}/30`] },
      { node: edge, ifname: `fe${tag}`, addresses: [`${edgeAddress}/30`] },
    );
    const ctlOptions: GobgpdOptions = {
      asn: 64500,
      routerId: ctlAddress,
      dir: join(dir, 'ctl'),
      neighbors: [{ address: edgeAddress, asn: 64501 }],
    };
    p.ctlOptions = ctlOptions;
    p.edgeSpeaker = await startGobgpd(edge, {
      asn: 64501,
      routerId: edgeAddress,
      dir: join(dir, 'edge'),
      listen: true,
      neighbors: [{ address: ctlAddress, asn: 64500, passive: true }],
    });
    p.ctlSpeaker = await startGobgpd(ctl, ctlOptions);
    p.edgeClient = await GobgpClient.create({ address: p.edgeSpeaker.api });
    Object.assign(p, {
      ctl,
      edge,
      dir,
      ctlAddress,
      edgeAddress,
      async restartCtl() {
        await p.ctlSpeaker?.stop();
        p.ctlSpeaker = await startGobgpd(ctl, ctlOptions);
      },
    });
    await waitEstablished(p.edgeClient, ctlAddress);
    return p as Peering;
  } catch (err) {
    await p.teardown();
    throw err;
  }
}

export async function waitEstablished(client: GobgpClient, neighbor: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const peers = await client.listPeers().catch(() => []);
    if (peers.some((x) => x.address === neighbor && x.state === 'ESTABLISHED')) return;
    if (Date.now() > deadline)
      throw new Error(`BGP session with ${neighbor} not established within ${timeoutMs} ms: ${JSON.stringify(peers)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
