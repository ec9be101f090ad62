// Usage text: one place, so --help, errors and the README agree.
export const USAGE = `runbook: plan and apply YAML runbooks for the Managed Instance link

Usage:
  runbook validate <file or folder...> [--format text|json]
  runbook plan <runbook> (-i <inventory> | --lab [scenario]) [--set k=v ...] [--inputs <file>]
               [--full] [--probe] [--format text|json|sql [--replica <name>]] [--out plan.json]
               [--detailed-exitcode]
  runbook apply <runbook | plan.json> [-i <inventory> | --lab [scenario]] [--set k=v ...]
               [--inputs <file>] [--yes] [--allow-data-loss <link>] [--format text|json]
  runbook apply --resume <run-id> [<runbook>] [-i <inventory>] [--yes] [--allow-data-loss <link>]
  runbook plan|apply <runbook> -i <fleet.yml> (--links a,b | --all) [--parallel N] [--canary K]
               [--max-failures M] [--allow-data-loss a,b | --allow-data-loss-all-of <fleet.yml>]
  runbook apply --resume <wave-id> [--yes]
  runbook status -i <inventory> [--links a,b] [--format text|json]
  runbook inputs <runbook> [--format text|json]
  runbook runs [--format text|json]
  runbook runs show <run-id> [--format text|json|markdown]
  runbook runs prune [--older-than <age>] [--keep <N>] [--dry-run]
  runbook list-steps [--format text|json]
  runbook lab up [--links N] [--scenario <name|file>] [--link-scenario n=<name|file> ...] [--inventory-out <file>]
  runbook runbooks [--format text|json]
  runbook init [dir] [--force]
  runbook completion bash|zsh|pwsh
  runbook drill <runbook> [--set k=v ...] [--scenarios a,b | --all-scenarios]
               [--faults matrix|random] [--runs N] [--seed S] [--only CASE] [--format text|json]

A runbook named without a folder (planned-failover.yml) that is not a file here is one of the
runbooks shipped with runbook (see "runbook runbooks"); a file of that name here wins.
Run "runbook help <command>" (or "runbook <command> --help") for a command's options.
"runbook --version" prints the version, Node's, the drivers' and the ARM api-version.

Exit codes: 0 done, 1 failed before any change, 2 invalid input or usage,
3 refused (guard, lock, missing acknowledgement), 4 failed after a change was made,
5 outcome unknown, 130 interrupted.
Environment: NO_COLOR turns colour off; CI (or no terminal) gives plain progress lines.
`;

export const COMMAND_HELP: Record<string, string> = {
  validate: `Usage: runbook validate <file or folder...> [--format text|json]

Checks runbooks and inventories: YAML, schema, step arguments, references and templates.
A folder stands for the .yml and .yaml files directly in it (runbook validate runbooks/).
Every problem in every file is reported as file:line:col. Exit 0 when all are valid, 2 otherwise.

Options:
  --format text|json   text (default, with the offending line) or the diagnostics as JSON
  -h, --help           this help
`,
  plan: `Usage: runbook plan <runbook> (-i <inventory> | --lab [scenario]) [options]

Shows what apply would do without connecting to anything (unless --probe): one line per step
(impact, target, what it does; skipped and run-time decisions marked), then a closing line that
counts the changes, data-loss steps and reads and says where the run would refuse when the
plan (or the probe) can already tell.

Options:
  -i, --inventory <file>   the link to plan for
  --lab [scenario]         plan for the embedded lab's link (starts nothing)
  --set <name=value>       set an input; repeatable; wins over --inputs
  --inputs <file>          input values from a YAML file (name: value); see runbook inputs
  -v, --full               every step in full: description, when:, guards, retries and every
                           argument, SQL in full
  --format text|json|sql   text (default), the plan as JSON, or a T-SQL script for one replica
                           that runs in sqlcmd or SSMS as printed
  --replica <name>         with --format sql: sqlServer, managedInstance, primary or secondary;
                           needed when the plan sends T-SQL to more than one
  --out <plan.json>        also save the plan for "runbook apply plan.json"
  --links a,b | --all      with a fleet inventory: plan each of these links (text or json)
  --probe                  read the live link (roles, modes, LSN gap, versions, ARM link) with
                           the runbook's read steps only, show the observed state and the
                           predicted path; with --out, apply refuses (exit 3) if roles, modes or
                           the link changed since. With --lab, starts the lab for the probe
  --detailed-exitcode      exit 0 when there is nothing to change, 2 when the plan changes the
                           link, 3 when the run would refuse (as terraform plan -detailed-exitcode)
  -h, --help               this help

Without --detailed-exitcode, a plan that could be made exits 0, whatever it shows; bad input is 2.
`,
  apply: `Usage: runbook apply <runbook | plan.json> [-i <inventory> | --lab [scenario]] [options]

Runs the runbook's steps in order, with a journal under .runbook/runs/ and a summary.
Given a saved plan, refuses (exit 3) if the runbook changed since the plan was made.

Options:
  -i, --inventory <file>     the link to act on (a saved plan remembers its inventory)
  --lab [scenario]           start the embedded lab (optionally with a scenario) and run against it
  --set <name=value>         set an input; repeatable (not with a saved plan); wins over --inputs
  --inputs <file>            input values from a YAML file (name: value); see runbook inputs
  --yes                      do not ask before the first change step (needed without a terminal)
  --allow-data-loss <link>   allow steps that can lose data; must repeat the inventory's link name.
                             --yes never implies it
  --format text|json         progress as text (default) or one JSON event per line, always (bad
                             input is one "diagnostic" event per problem, an error an "error" event)
  --resume <run-id>          continue an interrupted or failed run (see "runbook runs"): same
                             runbook, inventory and inputs (refused if any changed); finished
                             steps are not run again; a change that may have happened is verified
  --outcome-timeout <dur>    how long to keep checking a change whose answer was lost (default 2m)
  -h, --help                 this help

A wave (a fleet inventory, README "Fleets"): each link is its own run (run id, lock, journal);
the wave is recorded under .runbook/waves/ and its exit code is the worst link's.
  --links a,b | --all                 the links of the fleet to run
  --parallel N                        at most N links at a time (default 1)
  --canary K                          run K links to the end first; stop if any fails
  --max-failures M                    start no new link after M failures (running ones finish)
  --allow-data-loss a,b               name every link whose runbook can lose data
  --allow-data-loss-all-of <fleet>    or acknowledge every link of that fleet inventory
  --resume <wave-id>                  run the wave's unfinished links again

Takes a lock on the link (sp_getapplock, session-owned, in master) on every reachable replica
for the whole run; a second run on the same link is refused (exit 3) and told who holds it. A
lock whose session ends is taken back at once; if someone else took it or the link changed
meanwhile, the run stops (exit 5).
Ctrl-C stops at the next safe point; a change step (e.g. FAILOVER) is finished and verified first.
`,
  status: `Usage: runbook status -i <inventory> [--links a,b] [--format text|json]

A read-only health view of every link of a fleet inventory (or the link of a single-link one):
each side's role, availability mode and synchronization state, log KB and seconds behind, and
ARM's view of the link. One connection per server, no lock, nothing changed.
Exit 0 all healthy, 1 a link unhealthy, 2 a set-up error: usable as a monitoring check.

Options:
  -i, --inventory <file>   the fleet (or single-link) inventory
  --links a,b              only these links
  --format text|json       a table (default) or JSON
  -h, --help               this help
`,
  inputs: `Usage: runbook inputs <runbook> [--format text|json]

Lists what a runbook asks for: each input's type, allowed values, default and description, and
an --inputs file to start from. Connects to nothing.

Options:
  --format text|json   text (default) or the input declarations as JSON
  -h, --help           this help
`,
  runs: `Usage: runbook runs [--format text|json]
       runbook runs show <run-id> [--format text|json|markdown]
       runbook runs prune [--older-than <age>] [--keep <N>] [--dry-run]

Lists the runs journaled under .runbook/runs/ (or RUNBOOK_JOURNAL_DIR): id, runbook, link,
start time, state (running, succeeded, failed, interrupted, unknown, damaged) and the last step.

show: one run from its journal: who ran it and how, when, the inputs, each step's outcome, every
statement sent with its target, and the outcome. --format markdown is for a change ticket.

prune: removes journals of runs that ended longer ago than --older-than (30d, 12h, 1d12h) and
are not among the --keep newest. Never a running run or one whose run lock is held, and never a
damaged journal (look at it first). --dry-run lists what it would remove.

Options:
  --format text|json   a table (default) or JSON (show: also markdown)
  -h, --help           this help
`,
  'list-steps': `Usage: runbook list-steps [--format text|json]

Lists every step type: description, impact, target, outputs and \`with:\` fields.

Options:
  --format text|json   text (default) or JSON
  -h, --help           this help
`,
  drill: `Usage: runbook drill <runbook> [options]

Rehearses the runbook on fresh embedded labs, each with one injected fault (a replica down, a
connection dropped before or after a change, slow and hung statements, ARM 429/500/failed
operations, SIGKILL of the engine at every step boundary or at a random instant followed by
apply --resume, a second operator), and judges every run from the lab's own ledger, statement log
and ARM log: no committed transaction lost without a dataLoss step and its acknowledgement, no
change applied twice, at most one primary (unless the runbook declares outcomes.splitBrain), exit
code and summary true to what the lab saw, no secret in any output. Prints a verdict table and,
for each violation, the command that replays it. Exit 0 when nothing broke, 1 when an invariant
broke, 2 on bad input.

Options:
  --set <name=value>        set an input of the runbook for every run (short windows: stableFor=300ms ...)
  --scenarios a,b           lab scenarios to drill (default healthy)
  --all-scenarios           every built-in scenario
  --faults matrix|random    every fault that can touch the runbook in every scenario (default),
                            or one drawn at random per run
  --runs N                  matrix: each case N times (default 1); random: N runs (default 20);
                            at most 10000 runs in all
  --seed S                  seed of the random instants and draws (default: a new one, printed)
  --only <scenario/fault>   only this case (with --seed, replays a violation)
  --jobs N                  runs at once (default three per CPU core)
  --format text|json        the verdict as text (default) or JSON
  -h, --help                this help
`,
  lab: `Usage: runbook lab up [--links N] [--scenario <name|file>] [--link-scenario n=<name|file> ...] [--inventory-out <file>]

Starts the embedded lab (TDS listeners and an ARM endpoint on 127.0.0.1) in the foreground,
writes its inventory and prints the environment to use it. Ctrl-C stops it.

Options:
  --links N                 how many links to host (default 1, up to 100); several links share one
                            SQL Server and one managed instance, and <file> is their fleet inventory
                            (<file>-1.yml, ... hold each link's own)
  --link-scenario n=<name>  link n's own scenario (repeatable), e.g. 7=lagging 12=split-brain
  --scenario <name|file>    start from a scenario (a built-in name or a scenario file)
  --inventory-out <file>    where to write the inventory (default lab-inventory.yml)
  -h, --help                this help
`,
  runbooks: `Usage: runbook runbooks [--format text|json]   (also: runbook list-runbooks)

Lists the runbooks shipped with runbook: file name, what it does, its inputs. Use them by name
from any folder ("runbook plan planned-failover.yml --lab"); a file of the same name in the current
folder wins. "runbook init" copies them into a folder of your own.

Options:
  --format text|json   text (default) or JSON
  -h, --help           this help
`,
  init: `Usage: runbook init [dir] [--force]

Copies the shipped runbooks and a commented inventory template (inventory.yml) into dir (default:
the current folder, created if missing), each with a "# yaml-language-server: $schema=" line that
points at this installation's schemas, so editors check and complete them. Refuses (exit 3) to
overwrite any file, and then writes nothing, unless --force.

Options:
  --force      replace files that exist
  -h, --help   this help
`,
  completion: `Usage: runbook completion bash|zsh|pwsh

Prints a shell completion script: commands, flags, shipped runbook names, the inputs of the
runbook already typed (--set), lab scenario names. Load it from your shell's profile:
  bash   source <(runbook completion bash)                       in ~/.bashrc
  zsh    source <(runbook completion zsh)                        in ~/.zshrc, after compinit
  pwsh   runbook completion pwsh | Out-String | Invoke-Expression   in $PROFILE

Options:
  -h, --help   this help
`,
};
