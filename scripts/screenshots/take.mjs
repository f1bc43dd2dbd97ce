// Places orders on a running system, then photographs the Aspire dashboard in headless Chromium:
// the resource page, one order's trace and the messaging metrics. Run by screenshots.sh, which starts the system.
import { chromium } from "playwright-core";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";

const dashboard = process.env.DASHBOARD_URL ?? "http://localhost:15080";
const orders = process.env.ORDERS_URL ?? "http://localhost:5101";
const payments = process.env.PAYMENTS_URL ?? "http://localhost:5102";
const inventory = process.env.INVENTORY_URL ?? "http://localhost:5103";
const outputFolder = process.argv[2] ?? "docs/images";
const deadline = (seconds) => Date.now() + seconds * 1000;

async function send(method, url, body, headers = {}) {
  const response = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body && JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function waitFor(what, seconds, probe) {
  for (const until = deadline(seconds); Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
    const value = await probe().catch(() => null);
    if (value) return value;
  }
  throw new Error(`Timed out after ${seconds} s waiting for ${what}`);
}

// An order whose trace id we choose: the request's traceparent starts the order's trace.
async function placeOrder(customerId, items, { quiet = false } = {}) {
  const traceId = randomBytes(16).toString("hex");
  const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
  const { orderId } = await send("POST", `${orders}/orders`, { customerId, items }, { traceparent });
  const order = await waitFor(`order ${orderId} to settle`, 60, async () => {
    const current = await send("GET", `${orders}/orders/${orderId}`);
    return current.status === "Completed" || current.status === "Cancelled" ? current : null;
  });
  if (!quiet) console.log(`order ${orderId}: ${order.status}${order.cancellationReason ? ` (${order.cancellationReason})` : ""}, trace ${traceId}`);
  return { orderId, traceId };
}

// A minute of steady orders first, so the metrics show the system warm; then one order of each outcome, to photograph.
async function placeOrders() {
  await send("PUT", `${payments}/accounts/c-1`, { balance: 100.0 });
  await send("PUT", `${payments}/accounts/c-steady`, { balance: 1_000_000.0 });
  await send("PUT", `${inventory}/stock/SKU-1`, { available: 10 });
  await send("PUT", `${inventory}/stock/SKU-2`, { available: 0 });
  await send("PUT", `${inventory}/stock/SKU-STEADY`, { available: 1_000_000 });
  const steadyUntil = deadline(65);
  const steadyCustomer = async () => {
    while (Date.now() < steadyUntil) await placeOrder("c-steady", [{ sku: "SKU-STEADY", quantity: 1, unitPrice: 1.0 }], { quiet: true });
  };
  await Promise.all([steadyCustomer(), steadyCustomer()]);
  const completed = await placeOrder("c-1", [{ sku: "SKU-1", quantity: 2, unitPrice: 9.99 }]);
  await placeOrder("c-1", [{ sku: "SKU-1", quantity: 1, unitPrice: 500.0 }]);
  await placeOrder("c-1", [
    { sku: "SKU-1", quantity: 1, unitPrice: 5.0 },
    { sku: "SKU-2", quantity: 1, unitPrice: 5.0 },
  ]);
  return completed;
}

// Flags for running as root on a machine without outside network: no sandbox, no background connections.
const chromiumArguments = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function photograph(page, name, path, readyText) {
  await page.goto(`${dashboard}${path}`, { waitUntil: "networkidle" });
  await page.getByText(readyText).first().waitFor({ timeout: 30_000 });
  // The notices about this local run's unsecured endpoints and missing developer certificate: dismissible, not the subject.
  const notices = page.getByLabel("Dismiss notification");
  while (await notices.count() > 0) await notices.first().click();
  await page.waitForTimeout(1500); // charts and grids render in steps after their data arrives
  const file = `${outputFolder}/${name}.png`;
  await page.screenshot({ path: file });
  console.log(`saved ${file}`);
}

const completed = await placeOrders();
await mkdir(outputFolder, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: chromiumArguments,
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await photograph(page, "dashboard-resources", "/", "inventorydb");
  await page.setViewportSize({ width: 1600, height: 1120 }); // the whole span tree of an order
  await photograph(page, "dashboard-order-trace", `/traces/detail/${completed.traceId}`, "inventory.events");
  await page.setViewportSize({ width: 1600, height: 900 });
  await photograph(page, "dashboard-messaging-metrics",
    "/metrics/resource/orders?meter=ShopChoreography.Messaging&instrument=messaging.consumer.handler.duration&duration=1",
    "Time to apply one event");
} finally {
  await browser.close();
}
