using FilterService.Cli;
using FilterService.Hosting;

return args.Length > 0 && CliCommands.IsCommand(args[0])
    ? await CliCommands.RunAsync(args)
    : await ProxyHost.RunAsync(args);
