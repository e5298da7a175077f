package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

// usageError is a command line the command cannot run (wrong arguments, an
// unknown flag): the problem, then the command's usage line and where the
// rest is.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string {
	if !e.cmd.HasParent() {
		return fmt.Sprintf("%v\nUsage: %s COMMAND [flags]\nRun '%s --help' for the commands.", e.err, e.cmd.Name(), e.cmd.Name())
	}
	return fmt.Sprintf("%s: %v\nUsage: %s\nRun '%s --help' for more.", e.cmd.Name(), e.err, e.cmd.UseLine(), e.cmd.CommandPath())
}

func (e *usageError) Unwrap() error { return e.err }

// withUsage makes argument and flag errors of root's commands usageErrors,
// and an unknown command one too.
func withUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{c, err} })
	// Runnable, so that cobra checks its arguments with Args (a root
	// without Run only says "unknown command").
	root.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return &usageError{c, errors.New(msg)}
	}
	for _, c := range root.Commands() {
		if c.Args == nil {
			continue
		}
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				if !cmd.HasSubCommands() && strings.HasPrefix(err.Error(), "unknown command") && len(args) > 0 {
					// cobra.NoArgs says "unknown command": say what it is.
					err = fmt.Errorf("takes no arguments, got %q", args[0])
					if cmd.Flags().Lookup("strategies") != nil {
						err = fmt.Errorf("%w: name the strategies file with --strategies %s", err, args[0])
					}
				}
				return &usageError{cmd, err}
			}
			return nil
		}
	}
}

// unknownStrategyError is explain's error for a name the file does not
// define: the names it does, as words.
func unknownStrategyError(file, name string, names []string) error {
	hint := ""
	if s := strategies.Suggest(name, names); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	switch len(names) {
	case 1:
		return fmt.Errorf("%s has no strategy %q%s; its one strategy is %s", file, name, hint, names[0])
	default:
		return fmt.Errorf("%s has no strategy %q%s; its strategies are %s", file, name, hint, wordList(names))
	}
}

// wordList writes names as "a, b and c".
func wordList(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
