using Reclaim.Cli;

LongRunningCommands.RestartOnRuntimeDefaults(args);
return await ReclaimCommandLine.RunAsync(args, Console.Out, Console.Error);
