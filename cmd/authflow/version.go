package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print authflow's version, the Go version it was built with and its VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			fmt.Fprint(cmd.OutOrStdout(), versionText(info))
			return nil
		},
	}
}

// versionText describes a build from its build info (nil: none embedded):
//
//	authflow v1.2.0
//	go: go1.27.3
//	revision: 4f2c1e9a7b3d (2026-11-30T10:12:00Z)
func versionText(info *debug.BuildInfo) string {
	if info == nil {
		return "authflow (unknown version: the binary carries no build information)\n"
	}
	var b strings.Builder
	version := info.Main.Version
	switch version {
	case "", "(devel)":
		version = "(devel: built from a source tree, not a release)"
	}
	fmt.Fprintf(&b, "authflow %s\n", version)
	fmt.Fprintf(&b, "go: %s\n", info.GoVersion)
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		b.WriteString("revision: unknown (not built from a git checkout, or with -buildvcs=false)\n")
		return b.String()
	}
	var notes []string
	if at != "" {
		notes = append(notes, at)
	}
	if modified {
		notes = append(notes, "with uncommitted changes")
	}
	fmt.Fprintf(&b, "revision: %s", rev)
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	b.WriteString("\n")
	return b.String()
}
