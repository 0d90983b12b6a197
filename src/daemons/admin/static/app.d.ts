// app.js is imported as text (assets.ts), not as a module.
declare const text: string;
export default text;
