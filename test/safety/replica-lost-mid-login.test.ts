// A replica lost during the login (the TCP connection made, then dropped before the login ended)
// used to be a set-up error, exit 2, "check host, port, firewall". Now the network is asked, as after
// a login timeout (engine/drivers/sql/pool.ts classifyConnectFailureProbed): a replica that no longer
// accepts TCP went down (unreachable: the runbook's guards decide, here exit 1 before any change);
// one that still listens is up and closed the login itself (a set-up error, exit 2, never "down").
// The lab stands behind a proxy that lets the PRELOGIN exchange through and then drops the connection.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import yaml from 'js-yaml';
import { ChildLab } from '../helpers/child-runs.js';

/** A proxy to SQL Server's replica that drops each connection once the server has answered its first packet; `dies`: and stops listening then. */
async function droppingProxy(lab: ChildLab, dies: boolean): Promise<{ port: number; close(): void }> {
  const { host, port } = lab.lab.inventory.link.sqlServer.connection;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(port, host);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    let answered = false;
    client.on('data', (d) => {
      if (!answered) return void up.write(d);
      client.destroy();
      up.destroy();
      if (dies) server.close();
    });
    up.on('data', (d) => {
      answered = true;
      client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => (server.close(), sockets.forEach((s) => s.destroy())) };
}

function behindProxy(lab: ChildLab, port: number): { inventory: string; runbook: string } {
  const inventory = structuredClone(lab.lab.inventory);
  inventory.link.sqlServer.connection.port = port;
  const inventoryFile = join(lab.dir, 'proxied.yml');
  writeFileSync(inventoryFile, yaml.dump(inventory));
  const runbook = join(lab.dir, 'look.yml');
  writeFileSync(runbook, ['name: look', 'description: x', 'steps:', '  - id: look', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: read', '      sql: "SELECT 1 AS one;"', ''].join('\n'));
  return { inventory: inventoryFile, runbook };
}

test('a replica that goes down during the login is unreachable, not a set-up error: the run fails before any change (exit 1)', async () => {
  const lab = await ChildLab.start();
  const proxy = await droppingProxy(lab, true);
  try {
    const files = behindProxy(lab, proxy.port);
    const r = await lab.cli(['apply', files.runbook, '-i', files.inventory, '--yes']).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 1, out);
    assert.not.match(out, /set-up error/);
    assert.match(out, /Lock runbook:link:dag1: held on managedInstance; sqlServer unreachable, not locked \(.*ECONNREFUSED/);
    assert.match(out, /Nothing was changed\./);
  } finally {
    proxy.close();
    await lab.stop();
  }
});

test('a replica that closes the login but still listens is up: a set-up error (exit 2) that says so', async () => {
  const lab = await ChildLab.start();
  const proxy = await droppingProxy(lab, false);
  try {
    const files = behindProxy(lab, proxy.port);
    const r = await lab.cli(['apply', files.runbook, '-i', files.inventory, '--yes']).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 2, out);
    assert.match(out, /set-up error on sqlServer, not an unreachable replica: .*accepted the TCP connection and then closed it during the login \(ESOCKET\), and it accepts TCP connections still: it is up, not unreachable .*check the server's error log/);
  } finally {
    proxy.close();
    await lab.stop();
  }
});

test.run();
