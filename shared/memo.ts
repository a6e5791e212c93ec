// Owns what a process keeps per object (a context, a set of clients, a memory): made on first use, gone with it.

/**
 * `valueOf(key)` is `make(key)` the first time and the same value after, for as long as `key` lives: state
 * that belongs to an object without being a field of it, so that a copy of the object (a test's context
 * with another clock) starts afresh, and nothing outlives the object it was kept for.
 */
export function perObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const values = new WeakMap<K, V>();
  return (key) => {
    let value = values.get(key);
    if (value === undefined) values.set(key, (value = make(key)));
    return value;
  };
}
