import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandFleet, parseLinkList, selectLinks } from '../../../engine/fleet/expand.js';
import type { FleetInventory } from '../../../engine/core/types.js';

const fleet: FleetInventory = {
  sqlServers: { sql01: { name: 'SQL01', connection: { host: 'sql01', user: 'u', passwordEnv: 'P' } }, sql02: { connection: { host: 'sql02', port: 1500 } } },
  managedInstances: { mi1: { resourceGroup: 'rg', subscriptionId: 's', tier: 'BusinessCritical', fqdn: 'mi1.example', connection: { host: 'mi1' } } },
  links: [
    { name: 'dag1', database: 'Db1', agName: 'ag1', sqlServer: 'sql01', managedInstance: 'mi1' },
    { name: 'dag2', database: 'Db2', agName: 'ag2', sqlServer: 'sql02', managedInstance: 'mi1' },
    { name: 'dag3', database: 'Db3', agName: 'ag3', sqlServer: 'sql01', managedInstance: 'mi1' },
  ],
  arm: { endpoint: 'https://arm', credential: 'tokenEnv', tokenEnv: 'T' },
};

test('each link becomes the single-link inventory of its servers, names defaulting to their keys', () => {
  const links = expandFleet(fleet);
  assert.equal(links.map((l) => [l.name, l.position, l.sqlServerKey]), [['dag1', 1, 'sql01'], ['dag2', 2, 'sql02'], ['dag3', 3, 'sql01']]);
  assert.equal(links[0]!.inventory, {
    link: {
      name: 'dag1', database: 'Db1',
      sqlServer: { name: 'SQL01', agName: 'ag1', connection: { host: 'sql01', user: 'u', passwordEnv: 'P' } },
      managedInstance: { name: 'mi1', resourceGroup: 'rg', subscriptionId: 's', tier: 'BusinessCritical', fqdn: 'mi1.example', connection: { host: 'mi1' } },
    },
    arm: { endpoint: 'https://arm', credential: 'tokenEnv', tokenEnv: 'T' },
  });
  assert.is(links[1]!.inventory.link.sqlServer.name, 'sql02');
  // Copies: a run that changes its inventory does not change another link's.
  links[0]!.inventory.link.sqlServer.connection.host = 'x';
  assert.is(links[2]!.inventory.link.sqlServer.connection.host, 'sql01');
  assert.is(fleet.sqlServers.sql01!.connection.host, 'sql01');
});

test('--links picks links in the fleet\'s order, folded as the lock folds; unknown or twice is a problem', () => {
  assert.equal(selectLinks(fleet, { names: ['dag3', 'DAG1'] }).links.map((l) => l.name), ['dag1', 'dag3']);
  assert.equal(selectLinks(fleet, { all: true }).links.length, 3);
  assert.equal(selectLinks(fleet, { names: ['dag9', 'dag1', 'Dag1'] }).problems, ['the fleet has no link dag9 (links: dag1, dag2, dag3)', 'link Dag1 is named twice']);
  assert.equal(parseLinkList('dag1, dag2'), { names: ['dag1', 'dag2'], problems: [] });
  assert.equal(parseLinkList('dag1,,dag2').problems.length, 1);
});

test.run();
