// `bbs state`: the state connector over HTTP.
import { CONNECTION_OPTIONS, clientFrom, parse, positionalsOf } from './args.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import type { Io } from './io.ts';

/**
 * `bbs state get OBJECTID NAME`, `bbs state set OBJECTID NAME JSON`, `bbs state id NAME CLASSNAME`:
 * the state connector over HTTP. Values print as one line of JSON so that scripts can parse them.
 */
export async function stateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('state', argv, CONNECTION_OPTIONS);
  const [action, ...rest] = positionals;
  if (action === 'get') {
    const [objectId, name] = positionalsOf('state get', rest, ['objectid', 'name']);
    const value = await clientFrom(values, io.env).getState(objectIdOf(objectId!), name!);
    await io.writeOut(`${JSON.stringify(value)}\n`);
    return EXIT.ok;
  }
  if (action === 'set') {
    const [objectId, name, json] = positionalsOf('state set', rest, ['objectid', 'name', 'json']);
    const id = objectIdOf(objectId!);
    const stored = await clientFrom(values, io.env).setState(id, name!, jsonOf(json!));
    await io.writeOut(`${JSON.stringify(stored)}\n`);
    return EXIT.ok;
  }
  if (action === 'id') {
    const [name, className] = positionalsOf('state id', rest, ['name', 'classname']);
    const objectId = await clientFrom(values, io.env).getObjectId(name!, className!);
    await io.writeOut(`${objectId}\n`);
    return EXIT.ok;
  }
  throw new UsageError(
    'usage: bbs state get OBJECTID NAME | bbs state set OBJECTID NAME JSON | bbs state id NAME CLASSNAME',
  );
}

function objectIdOf(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 0)
    throw new UsageError(`OBJECTID is a whole number (bbs state id NAME CLASSNAME prints one), got ${text}`);
  return id;
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `JSON is not valid JSON (${(error as Error).message}); quote strings twice, e.g. '"text"'`,
      { cause: error },
    );
  }
}
