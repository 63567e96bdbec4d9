/** bento's version, replaced at bundle time from package.json. */
export const VERSION: string = typeof __BENTO_VERSION__ === 'string' ? __BENTO_VERSION__ : '0.0.0-dev';
declare const __BENTO_VERSION__: string | undefined;
