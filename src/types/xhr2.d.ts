// xhr2: XMLHttpRequest for Node (no types of its own); it follows the browser interface.
declare module 'xhr2' {
  const XMLHttpRequestForNode: { new (): XMLHttpRequest };
  export default XMLHttpRequestForNode;
}
