// serverless.yml and infra/ YAML as data: CloudFormation tags (!Ref, !GetAtt, !Sub, ...) become their JSON form.
import YAML from 'yaml';
import { ServerlessConfigError } from '../errors.ts';

/** A YAML or JSON value after parsing: what every pass over serverless.yml reads and returns. */
export type Resolved = string | number | boolean | null | Resolved[] | { [key: string]: Resolved };
export type ResolvedMap = { [key: string]: Resolved };

export function isMap(value: Resolved | undefined): value is ResolvedMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CFN_FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
];

function intrinsicName(tag: string): string | undefined {
  const name = tag.slice(1);
  if (name === 'Ref' || name === 'Condition') return name;
  if (name === 'GetAtt' || CFN_FUNCTIONS.includes(name)) return `Fn::${name}`;
  return undefined;
}

/** Parses YAML, turning `!Ref`, `!GetAtt`, `!Join`, `!Sub`, ... (scalar and sequence forms) into their JSON form. */
export function parseCloudFormationYaml(text: string, source: string): Resolved {
  const doc = YAML.parseDocument(text, { merge: true });
  if (doc.errors.length > 0)
    throw new ServerlessConfigError(`${source}: ${doc.errors[0]?.message}`, { details: { file: source } });
  YAML.visit(doc, {
    Scalar(_, node) {
      if (!node.tag?.startsWith('!')) return undefined;
      const name = intrinsicName(node.tag);
      if (!name)
        throw new ServerlessConfigError(`${source}: unknown tag ${node.tag}`, { details: { file: source } });
      const value = String(node.value);
      if (name === 'Fn::GetAtt') {
        const dot = value.indexOf('.');
        return doc.createNode({ [name]: [value.slice(0, dot), value.slice(dot + 1)] });
      }
      return doc.createNode({ [name]: value });
    },
    Collection(_, node) {
      if (!node.tag?.startsWith('!')) return undefined;
      const name = intrinsicName(node.tag);
      if (!name)
        throw new ServerlessConfigError(`${source}: unknown tag ${node.tag}`, { details: { file: source } });
      // Keep the collection node itself (so tags nested in it are still visited), wrapped in { Fn::X: ... }.
      node.tag = undefined;
      const wrapper = doc.createNode({});
      wrapper.add(doc.createPair(name, node));
      return wrapper;
    },
  });
  return doc.toJS({ maxAliasCount: -1 }) as Resolved;
}
