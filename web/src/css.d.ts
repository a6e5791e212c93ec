// Owns the one declaration the console's CSS import needs: esbuild bundles it into the content-hashed stylesheet.
declare module '*.css';
