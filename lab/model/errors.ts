// The SQL Server errors the link model raises, in one place so README and tests agree.
// Numbers are SQL Server's where the reference material confirms them; where it does not
// (marked "lab's choice") the nearest real message was picked and the README says so.
import { SqlError } from '../sql/contract.js';

const q = (name: string) => `'${name}'`;

export const hadrErrors = {
  /** 15151: the group (or a member of it) does not exist here. */
  noSuchGroup: (verb: 'alter' | 'drop', name: string) =>
    new SqlError(15151, `Cannot ${verb} the availability group ${q(name)}, because it does not exist or you do not have permission.`),
  noSuchMember: (name: string, group: string) =>
    new SqlError(15151, `Cannot alter the availability replica ${q(name)} of availability group ${q(group)}, because it does not exist or you do not have permission.`),
  /** 41142: planned failover while the secondary is not synchronized. */
  notSynchronized: (group: string, replica: string) =>
    new SqlError(41142, `The availability replica for availability group ${q(group)} on this instance of SQL Server cannot become the primary replica. One or more databases are not synchronized or have not joined the availability group. (Replica ${q(replica)}.)`),
  /** 41122: a failover command aimed at the replica that already is primary. Also what a pre-CU13
   *  SQL Server says to a link FAILOVER on the primary (older versions only fail over from the secondary). */
  alreadyPrimary: (group: string) =>
    new SqlError(41122, `Cannot failover availability group ${q(group)} to this instance of SQL Server. The local availability replica is already the primary replica of the availability group. To failover this availability group to another instance, run the failover command on that instance.`),
  /** 41122-style refusal (lab's choice of number and text; the docs give none): a T-SQL forced
   *  failover of the link below SQL Server 2022 CU13, where the link cannot fail over with T-SQL. */
  noTsqlLinkFailover: (group: string, version: string) =>
    new SqlError(41122, `Cannot failover availability group ${q(group)}: failing the link over with Transact-SQL needs SQL Server 2022 CU13 (16.0.4125) or later, and SQL Server is ${version}. Remove the link to make the managed instance primary.`),
  /** 41190 (lab's choice for an undocumented case): link FAILOVER issued on the secondary, or
   *  SET (ROLE = SECONDARY) on a replica that already is secondary. */
  wrongState: (group: string, command: string, why: string) =>
    new SqlError(41190, `Availability group ${q(group)} failed to process the ${command} command. The local availability replica is not in a state that could process the command. ${why}`),
  /** 40517: a statement the managed instance does not support. */
  notSupportedOnMi: (what: string) =>
    new SqlError(40517, `Keyword or statement option '${what}' is not supported in this version of SQL Server.`),
  /** 911: unknown database. */
  noSuchDatabase: (name: string) =>
    new SqlError(911, `Database ${q(name)} does not exist. Make sure that the name is entered correctly.`),
  /** 3013 + reason: backup refused. */
  backupTerminated: (why: string) => new SqlError(3013, `BACKUP DATABASE is terminating abnormally. ${why}`),
  /** 1223: releasing an application lock that is not held. */
  appLockNotHeld: (resource: string) =>
    new SqlError(1223, `Cannot release the application lock (Database Principal: 'public', Resource: ${q(resource)}) because it is not currently held.`),
  /** 102: the statement looked like ours but did not parse. */
  syntax: (near: string) => new SqlError(102, `Incorrect syntax near '${near}'.`),
  /** 201/8144-like parameter problem for system procedures. */
  badParameter: (proc: string, why: string) =>
    new SqlError(8144, `Procedure or function ${proc} has an invalid parameter: ${why}`),
};
