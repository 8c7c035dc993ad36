using FilterService.Cli;
using FilterService.Hosting;

return CliCommands.Classify(args) switch
{
    Invocation.Command => await CliCommands.RunAsync(args),
    Invocation.Service => await ProxyHost.RunAsync(args),
    _ => CliCommands.Unknown(args, Console.Error),
};
