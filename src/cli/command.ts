/**
 * The command line's grammar: each command is one entry of a table (its
 * name, usage line, one line of help, its options, its handler), parsed by
 * node:util's `parseArgs` in strict mode, so an unknown flag or a stray
 * argument is refused with the command's usage line, never guessed at.
 * `gitchat help COMMAND` and `COMMAND --help` print the same text from the
 * same entry.
 */
import { parseArgs } from "node:util";
import { AppError } from "../errors.ts";

/** One option of a command, as parseArgs takes it, with the words `--help` shows for it. */
export type OptionSpec = {
  type: "string" | "boolean";
  short?: string;
  /** The option may be given more than once (its values are a list). */
  multiple?: boolean;
  /** What the value stands for in the help, e.g. "owner/name". */
  value?: string;
  help: string;
};

export type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

export type Command = {
  name: string;
  /** The arguments after `gitchat NAME`, e.g. "[--channel owner/name] [TEXT...]". */
  usage: string;
  /** One line, for the list of commands. */
  summary: string;
  /** More lines for `gitchat help NAME`, when one is not enough. */
  details?: string;
  options?: Record<string, OptionSpec>;
  /** Whether it takes arguments besides its options (else one is an error). */
  positionals?: boolean;
  run: (args: Parsed) => Promise<unknown> | unknown;
};

/** A command line gitchat cannot read: the CLI prints the message and the usage line, and exits with code 2. */
export class UsageError extends AppError {
  override readonly code = "usage";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export const usageLine = (command: Command) => `usage: gitchat ${command.name}${command.usage ? ` ${command.usage}` : ""}`;

const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "show this help" };

const optionsOf = (command: Command) => ({ ...command.options, help: HELP_OPTION });

/** `gitchat help NAME`: the usage line, what it does, and each option. */
export const commandHelp = (command: Command) => {
  const lines = [usageLine(command), "", command.summary];
  if (command.details) lines.push("", command.details);
  const options = Object.entries(optionsOf(command)).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, o.help] as const;
  });
  const width = Math.max(...options.map(([flag]) => flag.length));
  lines.push("", "options:", ...options.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`));
  return lines.join("\n");
};

/** Why parseArgs refused the arguments, in one line (its own messages are short and name the flag). */
const refusal = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${/'([^']+)'/.exec(message)?.[1] ?? message}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}`;
  return message.split(". ")[0]!;
};

/**
 * Reads `args` (what follows the command's name) by the command's options.
 * Returns undefined when `--help` was asked for (printed already).
 */
export const parseCommand = (command: Command, args: string[], print: (text: string) => void = console.log): Parsed | undefined => {
  const options = Object.fromEntries(
    Object.entries(optionsOf(command)).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: command.positionals ?? false }) as Parsed;
  } catch (error) {
    throw new UsageError(`gitchat ${command.name}: ${refusal(error)}`, usageLine(command));
  }
  if (parsed.values.help) {
    print(commandHelp(command));
    return undefined;
  }
  return parsed;
};

/** A whole number from `min` to `max` given to `--name`, or a UsageError that says what it must be. */
export const wholeNumber = (command: Command, name: string, raw: string, min: number, max: number) => {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`gitchat ${command.name}: --${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`, usageLine(command));
  }
  return Number(raw);
};
