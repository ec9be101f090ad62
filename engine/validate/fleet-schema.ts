// The fleet inventory's JSON Schema: servers declared once (`sqlServers:`, `managedInstances:`,
// keyed by a name the links use) and many `links:` referring to them. It is made of the
// single-link inventory schema's own parts, so a connection, a managed instance or the ARM block
// means the same in both; only the grouping is new.
import type { JsonSchema } from '../core/types.js';

type Obj = Record<string, unknown>;
const at = (o: unknown, ...keys: string[]): Obj => keys.reduce<Obj>((v, k) => v[k] as Obj, o as Obj);

/** A reference key: what `links:` use to name a server (the YAML key under sqlServers/managedInstances). */
const KEY = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 128 };

/** Servers of one kind, by the key links name them with; each declared once. */
function serverMap(what: string, server: { required: string[]; properties: Obj }): Obj {
  return {
    description: `${what}, by the key links refer to them with.`,
    type: 'object',
    minProperties: 1,
    propertyNames: KEY,
    additionalProperties: { type: 'object', additionalProperties: false, ...server },
  };
}

export function fleetSchema(inventory: JsonSchema): JsonSchema {
  const props = at(inventory, 'properties');
  const link = at(props, 'link', 'properties');
  const sql = at(link, 'sqlServer', 'properties');
  const mi = at(link, 'managedInstance');
  const miProps = at(mi, 'properties');
  const optionalName = (what: string) => ({ ...(sql.name as Obj), description: `${what} Defaults to its key.` });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://runbook.local/schemas/fleet-inventory.schema.json',
    title: 'fleet inventory',
    description: 'Many Managed Instance links: each SQL Server and managed instance declared once, and links that refer to them by key. Secrets are references, never values.',
    type: 'object',
    additionalProperties: false,
    required: ['sqlServers', 'managedInstances', 'links', 'arm'],
    properties: {
      $schema: props.$schema,
      sqlServers: serverMap('SQL Server instances', {
        required: ['connection'],
        properties: { name: optionalName('Server name as the DMVs show it (replica_server_name).'), connection: sql.connection },
      }),
      managedInstances: serverMap('Managed instances', {
        required: (mi.required as string[]).filter((k) => k !== 'name'),
        properties: { ...miProps, name: optionalName('Short Managed Instance name, e.g. sqlmi1.') },
      }),
      links: {
        description: 'The links (distributed availability groups), one per database.',
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'database', 'agName', 'sqlServer', 'managedInstance'],
          properties: {
            name: link.name,
            database: link.database,
            agName: sql.agName,
            sqlServer: { ...KEY, description: 'Key of its SQL Server under `sqlServers:`.' },
            managedInstance: { ...KEY, description: 'Key of its managed instance under `managedInstances:`.' },
          },
        },
      },
      arm: props.arm,
    },
    definitions: inventory.definitions,
  };
}
