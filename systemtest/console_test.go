package systemtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/console"
	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// browser starts headless Chromium (Debian's chromium) that sends the
// operator key with every request, and collects what its console reports as errors.
func browser(t *testing.T) (ctx context.Context, errs func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: the stack installs it (make stack)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1400, 1800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	var mu sync.Mutex
	var seen []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.APITypeError {
				seen = append(seen, fmt.Sprintf("console.error %v", ev.Args))
			}
		case *cdpruntime.EventExceptionThrown:
			seen = append(seen, "exception: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				seen = append(seen, ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	key := config.Env("OPERATOR_API_KEY", console.LocalOperatorKey)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+key))
	if err := chromedp.Run(ctx, network.Enable(), cdplog.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Authorization": auth})); err != nil {
		t.Fatal(err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// The operations console in a real browser, through the gateway: it loads
// without console errors, shows the connectors running and an order the
// test placed, restarts a connector from its button, and replays a dead
// letter. A screenshot lands in the state folder's test-output on every run.
func TestConsoleInABrowser(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "1.00", 10)
	id, traceID := s.TracedOrder(t, user, product, 1)
	s.Settle(t, 30*time.Second, id)
	ctx, consoleErrors := browser(t)
	consoleURL := systemkit.GatewayURL() + "/ops"

	var pipeline, latest, traceLink string
	var linked bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(consoleURL),
		chromedp.WaitVisible("#pipeline", chromedp.ByQuery),
		chromedp.Text("#pipeline", &pipeline, chromedp.ByQuery),
		chromedp.Text("#latest-orders", &latest, chromedp.ByQuery),
		chromedp.AttributeValue(fmt.Sprintf(`//table[@id="latest-orders"]//tr[td/a[text()="order %d"]]//a[@class="trace"]`, id),
			"href", &traceLink, &linked, chromedp.BySearch),
	)
	if err != nil {
		t.Fatal(err)
	}
	connector := config.Load().Connector(connectors.StoreOutbox)
	if !strings.Contains(pipeline, connector) || strings.Count(pipeline, "RUNNING") < 2 {
		t.Errorf("the pipeline panel does not show the connectors running:\n%s", pipeline)
	}
	if !strings.Contains(latest, fmt.Sprintf("order %d", id)) {
		t.Errorf("the latest orders do not show order %d:\n%s", id, latest)
	}
	// The order links to its trace in Zipkin.
	if want := systemkit.Instance().ZipkinURL() + "/zipkin/traces/" + traceID; !linked || traceLink != want {
		t.Errorf("order %d links to its trace at %q, want %q", id, traceLink, want)
	}
	shoot(t, ctx)

	// Restart the store connector from its button: the console says so, the
	// log records who asked, and the connector runs again.
	var notice string
	err = chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`button[name="restart"][value="%s"]`, connector), chromedp.ByQuery),
		chromedp.WaitVisible("#notice", chromedp.ByQuery),
		chromedp.Text("#notice", &notice, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if notice != "Restarted connector "+connector+"." {
		t.Errorf("after the restart button: notice %q", notice)
	}
	if log := serviceLog(t, "store-manager"); !strings.Contains(log, `"msg":"operator restarts a connector","connector":"`+connector+`"`) {
		t.Error("the restart is not in store-manager's log")
	}
	stacktest.Eventually(t, 30*time.Second, connector+" running again", func() bool {
		var text string
		return chromedp.Run(ctx, chromedp.Navigate(consoleURL), chromedp.Text("#pipeline", &text, chromedp.ByQuery)) == nil &&
			strings.Count(text, "RUNNING") >= 2
	})

	// A poison event is dead-lettered; the console shows it and its replay
	// puts it back on its topic, where it fails again and is dead-lettered again.
	eventID := poison(t, id)
	button := fmt.Sprintf(`button[name="replay"][value="%s"]`, eventID)
	stacktest.Eventually(t, 30*time.Second, "the dead letter shown", func() bool {
		var nodes []*cdp.Node
		return chromedp.Run(ctx, chromedp.Navigate(consoleURL), chromedp.WaitVisible("#dead-letters", chromedp.ByQuery),
			chromedp.Nodes(button, &nodes, chromedp.ByQuery, chromedp.AtLeast(0))) == nil && len(nodes) > 0
	})
	shoot(t, ctx)
	before := deadLettered(t, eventID) // once by each consumer group of the topic
	err = chromedp.Run(ctx,
		chromedp.Click(button, chromedp.ByQuery),
		chromedp.WaitVisible("#notice", chromedp.ByQuery),
		chromedp.Text("#notice", &notice, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(notice, "Replayed event "+eventID) {
		t.Errorf("after the replay button: notice %q", notice)
	}
	stacktest.Eventually(t, 30*time.Second, "the replayed event dead-lettered again", func() bool {
		return deadLettered(t, eventID) > before
	})

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser's console reported errors: %v", errs)
	}
}

// deadLettered counts the dead letters of one event on the orders topic.
func deadLettered(t *testing.T, eventID string) int {
	t.Helper()
	st := config.Load()
	letters, err := kafkainspect.ReadDeadLetters(context.Background(), st.KafkaBrokers, st.Topic(consumer.DeadLetterTopic(events.TopicOrders)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range letters {
		if d.ID == eventID {
			n++
		}
	}
	return n
}

// shoot writes a screenshot of the page to the state folder's test-output.
func shoot(t *testing.T, ctx context.Context) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(systemkit.StateDir(), "test-output")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "console.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// serviceLog is a service's log in the stack's state folder.
func serviceLog(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(systemkit.StateDir(), "logs", systemkit.Instance().Process(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
