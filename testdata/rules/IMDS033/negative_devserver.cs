// Web API of the Angular front end; IIS Express picked port 50342 for the client.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddCors(options =>
{
    options.AddPolicy("AllowAngularDevClient", policy =>
    {
        policy.WithOrigins("http://localhost:50342")
              .AllowAnyHeader()
              .AllowAnyMethod();
    });
});

public static class TokenOptions
{
    public static string ValidIssuer => "http://localhost:50342";
    public static string ValidAudience => "http://localhost:50342";
}
