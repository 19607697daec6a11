// A supplier's stock stream over a WebSocket (graphql-transport-ws), with no
// dependency: Node 22 or later, or Node 20 with --experimental-websocket.
//
//   node docs/examples/stock-stream.mjs [productId ...]
//
// GATEWAY (http://127.0.0.1:8080) and SUPPLIER_API_KEY (the local default)
// say where and who. It prints each product's stock now, then every change as
// the store applies it, and subscribes again (asking for the current values)
// whenever the server ends the stream.
const gateway = process.env.GATEWAY ?? "http://127.0.0.1:8080";
const key = process.env.SUPPLIER_API_KEY ?? "local-supplier-key"; // a LOCAL DEVELOPMENT DEFAULT
const ids = process.argv.slice(2);
const query = `subscription($ids: [ID!], $current: Boolean) {
  stockChanged(productIds: $ids, current: $current) { productId quantity previousQuantity version current }
}`;
const seen = new Map(); // productId -> highest version printed

function connect() {
  const ws = new WebSocket(gateway.replace(/^http/, "ws") + "/graphql/stream", "graphql-transport-ws");
  ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: { supplierKey: key } }));
  ws.onmessage = ({ data }) => {
    const msg = JSON.parse(data);
    switch (msg.type) {
      case "connection_ack":
        ws.send(JSON.stringify({ id: "stock", type: "subscribe",
          payload: { query, variables: { ids: ids.length ? ids : null, current: ids.length > 0 } } }));
        break;
      case "ping":
        ws.send(JSON.stringify({ type: "pong" }));
        break;
      case "next": {
        if (msg.payload.errors) { console.error(JSON.stringify(msg.payload.errors)); process.exit(1); }
        const c = msg.payload.data.stockChanged;
        if (Number(c.version) <= (seen.get(c.productId) ?? 0)) break; // already seen
        seen.set(c.productId, Number(c.version));
        console.log(JSON.stringify(c));
        break;
      }
      case "complete": // the server dropped the stream: changes may have been missed
        ws.close();
        break;
    }
  };
  ws.onclose = () => setTimeout(connect, 1000);
  ws.onerror = (e) => console.error("websocket:", e.message ?? e.type);
}
connect();
