// Owns the console's token: taken from the `#token=` link once, kept in sessionStorage, never put in a URL.
/**
 * `npm start` prints `http://127.0.0.1:PORT/#token=...`. A fragment never reaches the server (browsers do not
 * send it, nor put it in a Referer), and the page removes it from the address bar and history at once, so a
 * copied or bookmarked address carries no token. sessionStorage keeps it for this tab only, until the tab closes.
 */
const STORAGE_KEY = 'bbs.console.token';

/** Moves a `#token=...` (possibly `#/route&token=...`) into sessionStorage and rewrites the address without it. */
export function adoptTokenFromFragment(): void {
  const match = /(^#|[&?#])token=([^&]*)/.exec(location.hash);
  if (!match) return;
  const token = decodeURIComponent(match[2] ?? '');
  if (token !== '') sessionStorage.setItem(STORAGE_KEY, token);
  const rest = location.hash.replace(match[0], match[1] === '#' ? '#' : '').replace(/^#$/, '');
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest || '#/commands'}`);
}

export function currentToken(): string | undefined {
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

export function signIn(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token.trim());
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
