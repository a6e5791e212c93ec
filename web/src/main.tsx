// Owns the console's shell: sign-in, the hash routes, the navigation and the problem banner every page shares.
import { render } from 'preact';
import './style.css';
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { CommandPage } from './pages/Command.tsx';
import { CommandsPage } from './pages/Commands.tsx';
import { StatePage } from './pages/State.tsx';
import { WorkersPage } from './pages/Workers.tsx';
import { adoptTokenFromFragment, currentToken, signIn, signOut } from './token.ts';

/** `#/commands?worker=local`, `#/commands/ID`, `#/workers`, `#/state`: the route and its query. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function readRoute(): Route {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter((part) => part !== ''), query: new URLSearchParams(query) };
}

function SignIn() {
  const [token, setToken] = useState('');
  return (
    <main class="signin">
      <h1>buildbot-serverless console</h1>
      <p>
        This console shows the commands, workers and state of one buildbot-serverless API, live. It needs a
        token of the API: a <em>client</em> (or admin) token.
      </p>
      <p>
        On your machine, <code>npm start</code> prints a ready link,{' '}
        <code>http://127.0.0.1:3000/#token=…</code>: open that and you are signed in. Otherwise paste a client
        token here. It stays in this tab only (sessionStorage) and goes to the API in the Authorization
        header, never in an address.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() === '') return;
          signIn(token);
          location.hash = '#/commands';
          location.reload();
        }}
      >
        <label for="token">Client token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

function Layout({ route, children }: { route: Route; children: ComponentChildren }) {
  const here = route.parts[0] ?? 'commands';
  const link = (name: string, label: string) => (
    <a href={`#/${name}`} aria-current={here === name ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">bbs console</span>
        <nav aria-label="Pages">
          {link('commands', 'Commands')}
          {link('workers', 'Workers')}
          {link('state', 'State')}
        </nav>
        <button
          type="button"
          class="signout"
          onClick={() => {
            signOut();
            location.hash = '#/';
            location.reload();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function App() {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onHash = () => setRoute(readRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  if (currentToken() === undefined) return <SignIn />;
  const [page, id] = route.parts;
  let body;
  if (page === 'commands' && id !== undefined) body = <CommandPage commandId={id} />;
  else if (page === 'workers') body = <WorkersPage />;
  else if (page === 'state') body = <StatePage />;
  else body = <CommandsPage query={route.query} />;
  return <Layout route={route}>{body}</Layout>;
}

adoptTokenFromFragment();
render(<App />, document.getElementById('app')!);
