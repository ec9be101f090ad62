// Shell completion. `runbook completion bash|zsh|pwsh` prints a small script whose only work is to
// ask `runbook __complete <index> <words...>` what may come next, so the three shells share one
// implementation (this file) and it always matches the installed version. What it knows comes
// from where the CLI itself reads it: commands and flags from the help text (engine/cli/help.ts,
// handed in by the CLI, so a flag added there is completed too), runbooks from the shipped runbooks/ folder, inputs from the
// runbook already on the line, scenarios from lab/scenarios/. It reads files only: no driver.
//
// Answers are one per line; `:files` and `:dirs` ask the shell to add its own file or folder
// completion. `--allow-data-loss` is never completed: the link name is typed on purpose.
import { UsageError } from '../core/errors.js';
import { declaredInputs, labScenarioNames, resolveRunbookArgument, shippedRunbookFiles } from './shipped.js';
import type { CommandIO } from './io.js';

export const SHELLS = ['bash', 'zsh', 'pwsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a flag takes, read from its help line (`--format text|json`, `-i, --inventory <file>`). */
export interface FlagInfo {
  names: string[];
  /** undefined: a switch. Otherwise the value's placeholder as the help writes it. */
  value?: string;
}

const OPTION_LINE = /^\s+((?:-[a-zA-Z], )?--[a-z][a-z-]*)(?: (<[^>]+>|\[[^\]]+\]|[A-Za-z0-9|,]+))?(?:\s|$)/;

/** The CLI's help: the usage text and each command's own help. */
export interface HelpText {
  usage: string;
  commands: Record<string, string>;
}

/** The flags of a command as its help lists them under "Options:". */
export function flagsOf(helpText: HelpText, command: string): FlagInfo[] {
  const help = helpText.commands[command];
  if (!help) return [];
  const options = help.split(/^Options:\s*$/m)[1] ?? '';
  const flags: FlagInfo[] = [];
  for (const line of options.split('\n')) {
    const m = OPTION_LINE.exec(line);
    if (!m) continue;
    const info: FlagInfo = { names: m[1]!.split(', ') };
    if (m[2] !== undefined) info.value = m[2];
    flags.push(info);
    // Alternatives on one line (`--links a,b | --all`): each is a flag of its own.
    for (const alt of line.slice(m[0].length).matchAll(/^\s*\|\s+(--[a-z][a-z-]*)(?: (<[^>]+>|[A-Za-z0-9,|]+))?(?=\s)/g)) {
      flags.push(alt[2] !== undefined ? { names: [alt[1]!], value: alt[2] } : { names: [alt[1]!] });
    }
  }
  return flags;
}

/** The commands `runbook --help` lists, plus those only their own help names. */
export function commandNames(helpText: HelpText): string[] {
  const fromUsage = [...helpText.usage.matchAll(/^ {2}runbook ([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  return [...new Set([...fromUsage, ...Object.keys(helpText.commands)])];
}

const RUNBOOK_COMMANDS = new Set(['plan', 'apply', 'validate']);

/** The positionals (not flags, not flag values) of the words after the command. */
function positionals(helpText: HelpText, command: string, words: string[]): string[] {
  const flags = flagsOf(helpText, command);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      const flag = flags.find((f) => f.names.includes(w.split('=')[0]!));
      // `--lab [scenario]`: its value is optional; a runbook file after it is still the runbook.
      if (flag?.value && !w.includes('=') && !(flag.value.startsWith('[') && /\.(ya?ml|json)$/i.test(words[i + 1] ?? ''))) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

function valuesFor(helpText: HelpText, flag: FlagInfo, command: string, before: string[], cur: string, cwd: string): string[] {
  const placeholder = flag.value ?? '';
  if (/^[A-Za-z0-9]+(\|[A-Za-z0-9]+)+$/.test(placeholder)) return placeholder.split('|');
  const inner = placeholder.slice(1, -1);
  if (/scenario/.test(inner) || flag.names.includes('--scenario')) return [...labScenarioNames(), ':files'];
  if (inner === 'name=value') return inputCandidates(helpText, command, before, cur, cwd);
  if (/file|\.json|\.yml/.test(inner)) return [':files'];
  if (/dir/.test(inner)) return [':dirs'];
  return [];
}

/** `--set`: `name=` for each input of the runbook on the line; after `name=`, an enum's values. */
function inputCandidates(helpText: HelpText, command: string, before: string[], cur: string, cwd: string): string[] {
  const runbook = positionals(helpText, command, before)[0];
  if (runbook === undefined || runbook.toLowerCase().endsWith('.json')) return [];
  let inputs: ReturnType<typeof declaredInputs>;
  try {
    inputs = declaredInputs(resolveRunbookArgument(runbook, cwd).file);
  } catch {
    return [];
  }
  const eq = cur.indexOf('=');
  if (eq < 0) return inputs.map((i) => `${i.name}=`);
  const spec = inputs.find((i) => i.name === cur.slice(0, eq));
  const values = spec?.enum ?? (spec?.type === 'boolean' ? [true, false] : []);
  return values.map((v) => `${cur.slice(0, eq)}=${String(v)}`);
}

/**
 * The candidates for word `index` of `words` (words[0] is the program). A word missing at `index`
 * is an empty one: some shells drop an empty last argument.
 */
export function complete(helpText: HelpText, words: string[], index: number, cwd: string): string[] {
  const cur = words[index] ?? '';
  const before = words.slice(1, index);
  const keep = (list: string[]) => list.filter((c) => c.startsWith(':') || c.startsWith(cur));
  if (index <= 1) return keep([...commandNames(helpText), '--help', '--version']);
  const command = before[0]!;
  const args = before.slice(1);
  if (command === 'help') return keep(Object.keys(helpText.commands));
  if (command === 'completion') return index === 2 ? keep([...SHELLS]) : [];
  if (command === 'lab' && index === 2) return keep(['up']);
  const helpKey = command === 'list-runbooks' ? 'runbooks' : command;
  const flags = flagsOf(helpText, helpKey);
  const prev = args[args.length - 1];
  const prevFlag = prev !== undefined && prev.startsWith('-') && !prev.includes('=') ? flags.find((f) => f.names.includes(prev)) : undefined;
  if (prevFlag?.value !== undefined && !(prevFlag.value.startsWith('[') && cur.startsWith('-'))) {
    if (prevFlag.names.includes('--allow-data-loss')) return [];
    const values = valuesFor(helpText, prevFlag, helpKey, args.slice(0, -1), cur, cwd);
    // An optional value (`--lab [scenario]`) may be skipped: the runbook can come next.
    const more = prevFlag.value.startsWith('[') && RUNBOOK_COMMANDS.has(command) && positionals(helpText, command, args).length === 0 ? [...shippedRunbookFiles(), ':files'] : [];
    return keep([...values, ...more]);
  }
  if (cur.startsWith('-')) return keep(flags.flatMap((f) => f.names.filter((n) => n.startsWith('--'))));
  if (RUNBOOK_COMMANDS.has(command) && (command === 'validate' || positionals(helpText, command, args).length === 0)) return keep([...shippedRunbookFiles(), ':files']);
  if (command === 'init' && positionals(helpText, command, args).length === 0) return [':dirs'];
  return [];
}

export function completeCommand(helpText: HelpText, argv: string[], io: CommandIO): number {
  const [indexText, ...words] = argv;
  const index = Number(indexText);
  if (!Number.isInteger(index) || index < 0) throw new UsageError('__complete: needs the index of the word to complete, then the words');
  const found = complete(helpText, words, index, io.cwd);
  if (found.length) io.stdout.write(found.join('\n') + '\n');
  return 0;
}

const BASH = `# runbook completion for bash. Load it in ~/.bashrc:  source <(runbook completion bash)
_runbook_complete() {
  # Words as typed up to the cursor, split at blanks only: bash's own COMP_WORDS also split at
  # '=', which would cut --set name=value in three.
  local line=\${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -a words <<< "$line"
  [[ -z $line || $line == *[[:space:]] ]] && words+=("")
  local cur=\${words[\${#words[@]}-1]} bashcur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n' c
  local -a found
  found=($(command runbook __complete "$(( \${#words[@]} - 1 ))" "\${words[@]}" 2>/dev/null)) || return 0
  COMPREPLY=()
  for c in "\${found[@]}"; do
    case $c in
      :files) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
      :dirs) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
      *=) compopt -o nospace 2>/dev/null; COMPREPLY+=("$c") ;;
      *) COMPREPLY+=("$c") ;;
    esac
  done
  # bash replaces only its own current word, which starts after the last '=' (or is the '=').
  if [[ $cur == *=* && $bashcur != "$cur" ]]; then
    local head=\${cur%=*}= i
    for i in "\${!COMPREPLY[@]}"; do
      COMPREPLY[i]=\${COMPREPLY[i]#"$head"}
      [[ $bashcur == "=" ]] && COMPREPLY[i]="=\${COMPREPLY[i]}"
    done
  fi
  return 0
}
complete -F _runbook_complete runbook
`;

const ZSH = `#compdef runbook
# runbook completion for zsh. Load it in ~/.zshrc after compinit:  source <(runbook completion zsh)
_runbook() {
  local -a lines cands eqs
  local c
  lines=("\${(@f)$(command runbook __complete $(( CURRENT - 1 )) "\${(@)words[1,CURRENT]}" 2>/dev/null)}")
  for c in "\${lines[@]}"; do
    case $c in
      :files) _files ;;
      :dirs) _files -/ ;;
      *=) eqs+=("$c") ;;
      ?*) cands+=("$c") ;;
    esac
  done
  (( \${#eqs} )) && compadd -S '' -- "\${eqs[@]}"
  (( \${#cands} )) && compadd -- "\${cands[@]}"
  return 0
}
compdef _runbook runbook
`;

const PWSH = `# runbook completion for PowerShell. Load it in $PROFILE:  runbook completion pwsh | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName runbook -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @($commandAst.CommandElements | Where-Object { $_.Extent.StartOffset -lt $cursorPosition } | ForEach-Object { $_.Extent.Text })
  $index = $words.Count
  if ($wordToComplete -ne '') { $index = $words.Count - 1 }
  # An empty word is not passed: runbook __complete reads a missing word at the index as empty.
  $found = & runbook __complete $index @words 2>$null
  foreach ($c in $found) {
    if ($c -eq ':files' -or $c -eq ':dirs') {
      Get-ChildItem -Path "$wordToComplete*" -Directory:($c -eq ':dirs') -ErrorAction SilentlyContinue |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_.Name, $_.Name, 'ProviderItem', $_.Name) }
    } elseif ($c) {
      [System.Management.Automation.CompletionResult]::new($c, $c, 'ParameterValue', $c)
    }
  }
}
`;

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : PWSH;
}

export function completionCommand(shell: string | undefined, io: CommandIO): number {
  if (shell === undefined || !(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`completion: name a shell: ${SHELLS.join(', ')}${shell === undefined ? '' : ` (not "${shell}")`}`);
  }
  io.stdout.write(completionScript(shell as Shell));
  return 0;
}
