// Imported by the server as text (with { type: "text" }); served to the browser as is.
declare const text: string;
export default text;
