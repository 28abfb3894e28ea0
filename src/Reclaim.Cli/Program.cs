using Reclaim.Cli;

return await ReclaimCommandLine.RunAsync(args, Console.Out, Console.Error);
