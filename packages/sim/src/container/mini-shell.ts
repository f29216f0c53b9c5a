/** One simple command of a script: words plus redirects. */
export interface SimpleCommand {
  readonly negate: boolean;
  readonly words: string[];
  readonly redirects: { op: ">" | ">>" | "<"; target: string }[];
}

/** A command list: each command runs, or not, after the previous by `;`, `&&` or `||`. */
export type Script = { readonly connector: ";" | "&&" | "||"; readonly command: SimpleCommand }[];

/** Script syntax the simulator's shell does not implement; it refuses rather than guesses. */
export class UnsupportedSyntax extends Error {}

type Token = { word: string } | { op: string };

/**
 * Tokenizes scripts: single and double quotes, backslash escapes, `;` `&&` `||` `!`, `>` `>>`
 * `<` redirects, newlines (which end a command like `;`) and `#` comments. Pipes, expansions,
 * substitutions and subshells are refused.
 */
function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let word: string | null = null;
  const flush = (): void => {
    if (word !== null) tokens.push({ word });
    word = null;
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new UnsupportedSyntax("unterminated quoted string");
      word = (word ?? "") + script.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === "$" || script[j] === "`") throw new UnsupportedSyntax(`'${script[j]}' expansion`);
        if (script[j] === "\\" && /["\\$`]/.test(script[j + 1] ?? "")) j++;
        text += script[j];
      }
      if (j >= script.length) throw new UnsupportedSyntax("unterminated quoted string");
      word = (word ?? "") + text;
      i = j;
    } else if (c === "\\" && script[i + 1] === "\n") {
      // A line continuation: both characters vanish.
      i++;
    } else if (c === "\\") {
      word = (word ?? "") + (script[++i] ?? "");
    } else if (c === "#" && word === null) {
      // A comment starts only at the beginning of a word and runs to the end of the line.
      const end = script.indexOf("\n", i);
      i = end < 0 ? script.length : end - 1;
    } else if (c === "\n") {
      flush();
      tokens.push({ op: ";" });
    } else if (/\s/.test(c)) {
      flush();
    } else if (c === ";" || c === "<") {
      flush();
      tokens.push({ op: c });
    } else if (c === "&" || c === "|" || c === ">") {
      flush();
      const pair = script.slice(i, i + 2);
      if (pair === "&&" || pair === "||" || pair === ">>") {
        tokens.push({ op: pair });
        i++;
      } else if (c === ">") tokens.push({ op: ">" });
      else throw new UnsupportedSyntax(c === "|" ? "pipes" : "background jobs");
    } else if ("$`()".includes(c)) {
      throw new UnsupportedSyntax(`'${c}'`);
    } else {
      word = (word ?? "") + c;
    }
  }
  flush();
  return tokens;
}

/** Parses a script into its command list. */
export function parseScript(script: string): Script {
  const result: { connector: ";" | "&&" | "||"; command: SimpleCommand }[] = [];
  let connector: ";" | "&&" | "||" = ";";
  let current: { negate: boolean; words: string[]; redirects: SimpleCommand["redirects"] } = {
    negate: false,
    words: [],
    redirects: [],
  };
  const tokens = tokenize(script);
  const end = (next: ";" | "&&" | "||"): void => {
    if (current.words.length === 0) {
      if (next === ";" && !current.negate) return;
      throw new UnsupportedSyntax(`'${next}' without a command`);
    }
    result.push({ connector, command: current });
    connector = next;
    current = { negate: false, words: [], redirects: [] };
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if ("word" in token) {
      if (token.word === "!" && current.words.length === 0) current.negate = !current.negate;
      else current.words.push(token.word);
    } else if (token.op === ";" || token.op === "&&" || token.op === "||") {
      end(token.op);
    } else {
      const target = tokens[++i];
      if (!target || !("word" in target)) throw new UnsupportedSyntax(`'${token.op}' without a file`);
      current.redirects.push({ op: token.op as ">" | ">>" | "<", target: target.word });
    }
  }
  if (current.words.length > 0) end(";");
  else if (connector !== ";") throw new UnsupportedSyntax(`'${connector}' without a command`);
  return result;
}
