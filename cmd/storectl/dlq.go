package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
)

// dlqCmd works the dead letters of the stack's instance:
//
//	dlq list [TOPIC]                       every dead letter, or those of one topic (orders, payments, ...)
//	dlq show TOPIC PARTITION:OFFSET        one, with its payload and error
//	dlq replay TOPIC PARTITION:OFFSET...   put chosen ones back on their topic, once the cause is fixed
//
// A replayed event keeps its id: a handler that applied it already skips it.
func dlqCmd(ctx context.Context, cfg config.Stack, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	topics := events.Topics
	if len(args) > 1 {
		topics = []string{args[1]}
	}
	var all []kafkainspect.DeadLetter
	for _, t := range topics {
		letters, err := kafkainspect.ReadDeadLetters(ctx, cfg.KafkaBrokers, cfg.Topic(consumer.DeadLetterTopic(t)))
		if err != nil {
			return err
		}
		all = append(all, letters...)
	}
	switch args[0] {
	case "list":
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		defer w.Flush()
		fmt.Fprintln(w, "TOPIC\tPARTITION:OFFSET\tAT\tTYPE\tKEY\tEVENT\tERROR")
		for _, d := range all {
			fmt.Fprintf(w, "%s\t%d:%d\t%s\t%s\t%s\t%s\t%s\n", d.Topic, d.Partition, d.Offset, d.At.Format("2006-01-02 15:04:05"),
				d.Type, d.Key, d.ID, d.Error)
		}
		return nil
	case "show", "replay":
		if len(args) < 3 {
			return errUsage
		}
		for _, at := range args[2:] {
			d, err := find(all, at)
			if err != nil {
				return err
			}
			if args[0] == "show" {
				out := map[string]any{"dead_letter": d, "payload": json.RawMessage(d.Value)}
				if !json.Valid(d.Value) {
					out["payload"] = string(d.Value)
				}
				if err := printJSON(out); err != nil {
					return err
				}
				continue
			}
			topic := cfg.Topic(args[1])
			if err := kafkainspect.Replay(ctx, cfg.KafkaBrokers, d, topic); err != nil {
				return err
			}
			fmt.Printf("replayed %s %s event %s from %s %s to %s\n", d.Type, d.Key, d.ID, d.Topic, at, topic)
		}
		return nil
	default:
		return errUsage
	}
}

// find picks the dead letter at PARTITION:OFFSET.
func find(all []kafkainspect.DeadLetter, at string) (kafkainspect.DeadLetter, error) {
	p, o, ok := strings.Cut(at, ":")
	partition, perr := strconv.Atoi(p)
	offset, oerr := strconv.ParseInt(o, 10, 64)
	if !ok || perr != nil || oerr != nil {
		return kafkainspect.DeadLetter{}, fmt.Errorf("%q is not PARTITION:OFFSET", at)
	}
	if d, ok := kafkainspect.FindDeadLetter(all, int32(partition), offset); ok {
		return d, nil
	}
	return kafkainspect.DeadLetter{}, fmt.Errorf("no dead letter at %s", at)
}
