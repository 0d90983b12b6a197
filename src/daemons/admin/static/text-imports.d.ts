// Files the admin imports as text (`with { type: "text" }`), so `bun build --compile` embeds them.
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "uplot/dist/uPlot.iife.min.js" {
  const text: string;
  export default text;
}
