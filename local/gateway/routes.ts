// Route matching as API Gateway HTTP API does it: static over {param} over {proxy+}, a method over ANY, then $default.
import type { HttpRouteDef } from '../serverless/service.ts';

interface Segment {
  kind: 'static' | 'param' | 'greedy';
  text: string;
}

export interface CompiledRoute {
  def: HttpRouteDef;
  segments: Segment[];
}

export function compile(def: HttpRouteDef): CompiledRoute {
  if (def.path === '$default') return { def, segments: [] };
  const segments = def.path
    .split('/')
    .filter((part) => part !== '')
    .map((part): Segment => {
      const param = /^\{(.+?)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'static', text: part };
      return { kind: param[2] ? 'greedy' : 'param', text: param[1] as string };
    });
  return { def, segments };
}

function matchPath(route: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i] as Segment;
    if (segment.kind === 'greedy') {
      if (i >= parts.length) return undefined;
      params[segment.text] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === 'static' && segment.text !== part) return undefined;
    if (segment.kind === 'param') params[segment.text] = decodeURIComponent(part);
  }
  return route.segments.length === parts.length ? params : undefined;
}

/** API Gateway prefers static segments over {param} over {proxy+}, and a method over ANY. Higher wins. */
function specificity(route: CompiledRoute): number[] {
  const weight = { static: 3, param: 2, greedy: 1 } as const;
  return [...route.segments.map((segment) => weight[segment.kind]), route.def.method === 'ANY' ? 0 : 1];
}

function moreSpecific(a: CompiledRoute, b: CompiledRoute): boolean {
  const [x, y] = [specificity(a), specificity(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

export function findRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  let best: { route: CompiledRoute; params: Record<string, string> } | undefined;
  for (const route of routes) {
    if (route.def.path === '$default') continue;
    if (route.def.method !== 'ANY' && route.def.method !== method) continue;
    let params: Record<string, string> | undefined;
    try {
      params = matchPath(route, parts);
    } catch (error) {
      // A malformed %-escape cannot match any route.
      if (error instanceof URIError) return undefined;
      throw error;
    }
    if (params && (!best || moreSpecific(route, best.route))) best = { route, params };
  }
  const fallback = routes.find((route) => route.def.path === '$default');
  return best ?? (fallback ? { route: fallback, params: {} } : undefined);
}
